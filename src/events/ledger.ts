import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import { replay } from '../projections/balance'
import { decider, type Limits } from './decider'
import type { Accepted, Amount, Command, IdempotencyKey, StoredEvent, UserId, UserPoint } from './model'
import { asUnavailable, type StoreFault, type StoreUnavailable } from './store'
import { CommandQueue, type CommandFailure, type WriterOptions } from './writer'

/** The use cases the service offers; each HTTP route calls exactly one. */
export interface Ledger {
  /** With a key, a repeat of the same command is answered as the first was, and applies nothing. */
  readonly charge: (userId: UserId, amount: Amount, key?: IdempotencyKey) => TE.TaskEither<CommandFailure, Accepted>
  readonly use: (userId: UserId, amount: Amount, key?: IdempotencyKey) => TE.TaskEither<CommandFailure, Accepted>
  readonly balance: (userId: UserId) => TE.TaskEither<StoreUnavailable, UserPoint>
  readonly history: (userId: UserId) => TE.TaskEither<StoreUnavailable, StoredEvent[]>
  /** Up to `limit` events after event `after`; `next` is where the following page starts, if any remain. */
  readonly historyPage: (userId: UserId, page: Page) => TE.TaskEither<StoreUnavailable, HistoryPage>
  /** The balance as of `at`, by replaying the log up to that moment. */
  readonly balanceAt: (userId: UserId, at: number) => TE.TaskEither<StoreUnavailable, UserPoint>
  /** The writers, for tests and metrics. */
  readonly commands: CommandQueue
}

export interface Page {
  readonly after: number
  readonly limit: number
}

export interface HistoryPage {
  readonly events: StoredEvent[]
  readonly next?: number
}

export interface LedgerOptions extends Omit<WriterOptions, 'decide'> {
  readonly limits: Limits
}

export function createLedger(options: LedgerOptions): Ledger {
  const { store, limits } = options
  const commands = new CommandQueue({ ...options, decide: decider(limits) })
  const submit = (command: Command): TE.TaskEither<CommandFailure, Accepted> => () => commands.submit(command)

  return {
    charge: (userId, amount, key) => submit({ type: 'Charge', userId, amount, ...(key === undefined ? {} : { key }) }),
    use: (userId, amount, key) => submit({ type: 'Use', userId, amount, ...(key === undefined ? {} : { key }) }),
    balance: (userId) => read(store.balance(userId)),
    history: (userId) => read(store.history(userId)),
    historyPage: (userId, { after, limit }) =>
      pipe(
        read(store.history(userId, { after, limit: limit + 1 })),
        TE.map((events) => toPage(events, limit)),
      ),
    balanceAt: (userId, at) =>
      pipe(
        read(store.history(userId, { until: at })),
        TE.map((events) => ({ id: userId, point: replay(events).balance, updateMillis: events.at(-1)?.timeMillis ?? at })),
      ),
    commands,
  }
}

/** One more event than the page holds was read, to learn whether another page follows. */
const toPage = (events: StoredEvent[], limit: number): HistoryPage => {
  const last = events[limit - 1]
  return events.length > limit && last !== undefined ? { events: events.slice(0, limit), next: last.id } : { events }
}

const read = <A>(task: TE.TaskEither<StoreFault, A>): TE.TaskEither<StoreUnavailable, A> =>
  TE.mapLeft(asUnavailable)(task)
