import * as TE from 'fp-ts/TaskEither'
import { decider, type Limits } from './decider'
import type { Amount, Command, StoredEvent, UserId, UserPoint } from './model'
import { asUnavailable, type StoreFault, type StoreUnavailable } from './store'
import { CommandQueue, type CommandFailure, type WriterOptions } from './writer'

/** The use cases the service offers; each HTTP route calls exactly one. */
export interface Ledger {
  readonly charge: (userId: UserId, amount: Amount) => TE.TaskEither<CommandFailure, UserPoint>
  readonly use: (userId: UserId, amount: Amount) => TE.TaskEither<CommandFailure, UserPoint>
  readonly balance: (userId: UserId) => TE.TaskEither<StoreUnavailable, UserPoint>
  readonly history: (userId: UserId) => TE.TaskEither<StoreUnavailable, StoredEvent[]>
  /** The writers, for tests and metrics. */
  readonly commands: CommandQueue
}

export interface LedgerOptions extends Omit<WriterOptions, 'decide'> {
  readonly limits: Limits
}

export function createLedger(options: LedgerOptions): Ledger {
  const { store, limits } = options
  const commands = new CommandQueue({ ...options, decide: decider(limits) })
  const submit = (command: Command): TE.TaskEither<CommandFailure, UserPoint> => () => commands.submit(command)

  return {
    charge: (userId, amount) => submit({ type: 'Charge', userId, amount }),
    use: (userId, amount) => submit({ type: 'Use', userId, amount }),
    balance: (userId) => read(store.balance(userId)),
    history: (userId) => read(store.history(userId)),
    commands,
  }
}

const read = <A>(task: TE.TaskEither<StoreFault, A>): TE.TaskEither<StoreUnavailable, A> =>
  TE.mapLeft(asUnavailable)(task)
