import type * as TE from 'fp-ts/TaskEither'
import type { CommandFailure, Commands } from './commands'
import { decider, type Limits } from './decider'
import type { Accepted, Command } from './model'
import { CommandQueue, type WriterOptions } from './writer'

export interface CommandOptions extends Omit<WriterOptions, 'decide'> {
  readonly limits: Limits
}

/** Charge and use, each decided by the configured rules through the user's single writer. */
export function createCommands(options: CommandOptions): Commands {
  const commands = new CommandQueue({ ...options, decide: decider(options.limits) })
  const submit = (command: Command): TE.TaskEither<CommandFailure, Accepted> => () => commands.submit(command)
  return {
    // An absent key stays `undefined` on the command: everything downstream asks `key === undefined`.
    charge: (userId, amount, key) => submit({ type: 'Charge', userId, amount, key }),
    use: (userId, amount, key) => submit({ type: 'Use', userId, amount, key }),
    commands,
  }
}
