import type * as TE from 'fp-ts/TaskEither'
import type { CommandFailure, Commands } from './commands'
import { decider, defaultHoldTtlMillis, type Limits } from './decider'
import type { Accepted, Command } from './model'
import { CommandQueue, type WriterOptions } from './writer'

export interface CommandOptions extends Omit<WriterOptions, 'decide'> {
  readonly limits: Limits
}

/** Every command, each decided by the configured rules through the user's single writer. */
export function createCommands(options: CommandOptions): Commands {
  const commands = new CommandQueue({ ...options, decide: decider(options.limits) })
  const submit = (command: Command): TE.TaskEither<CommandFailure, Accepted> => () => commands.submit(command)
  return {
    // An absent key stays `undefined` on the command: everything downstream asks `key === undefined`.
    charge: (userId, amount, key) => submit({ type: 'Charge', userId, amount, key }),
    use: (userId, amount, key) => submit({ type: 'Use', userId, amount, key }),
    refund: (userId, useId, amount, key) => submit({ type: 'Refund', userId, useId, amount, key }),
    hold: (userId, amount, ttlMillis, key) =>
      submit({ type: 'Hold', userId, amount, ttlMillis: ttlMillis ?? options.limits.defaultHoldTtlMillis ?? defaultHoldTtlMillis, key }),
    capture: (userId, holdId, amount, key) => submit({ type: 'Capture', userId, holdId, key, ...(amount === undefined ? {} : { amount }) }),
    release: (userId, holdId, key) => submit({ type: 'Release', userId, holdId, key }),
    expire: (userId, holdId) => submit({ type: 'Expire', userId, holdId }),
    commands,
  }
}
