import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import type { StoredEvent, UserId, UserPoint } from '../events/model'
import { asFailure, type PointStore, type StoreFailure, type StoreFault } from '../events/store'
import { replay } from './balance'

/** The read side's use cases: balances and histories, from the projection and the log. */
export interface Reads {
  readonly balance: (userId: UserId) => TE.TaskEither<StoreFailure, UserPoint>
  readonly history: (userId: UserId) => TE.TaskEither<StoreFailure, StoredEvent[]>
  /** Up to `limit` events after event `after`; `next` is where the following page starts, if any remain. */
  readonly historyPage: (userId: UserId, page: Page) => TE.TaskEither<StoreFailure, HistoryPage>
  /** The balance as of `at`: one lookup where the store keeps each event's balance, else a replay up to that moment. */
  readonly balanceAt: (userId: UserId, at: number) => TE.TaskEither<StoreFailure, UserPoint>
}

export interface Page {
  readonly after: number
  readonly limit: number
}

export interface HistoryPage {
  readonly events: StoredEvent[]
  readonly next?: number
}

export const createReads = (store: PointStore): Reads => ({
  balance: (userId) => read(store.balance(userId)),
  history: (userId) => read(store.history(userId)),
  historyPage: (userId, { after, limit }) =>
    pipe(
      read(store.history(userId, { after, limit: limit + 1 })),
      TE.map((events) => toPage(events, limit)),
    ),
  balanceAt: (userId, at) => read(store.balanceAt?.(userId, at) ?? foldedAt(store, userId, at)),
})

/** A store that cannot look the balance up (the given tables): the fold of the user's events up to `at`. */
const foldedAt = (store: PointStore, userId: UserId, at: number): TE.TaskEither<StoreFault, UserPoint> =>
  pipe(
    store.history(userId, { until: at }),
    TE.map((events) => ({ id: userId, point: replay(events).balance, updateMillis: events.at(-1)?.timeMillis ?? at })),
  )

/** One more event than the page holds was read, to learn whether another page follows. */
const toPage = (events: StoredEvent[], limit: number): HistoryPage => {
  const last = events.length > limit ? events[limit - 1] : undefined
  return last === undefined ? { events } : { events: events.slice(0, limit), next: last.id }
}

const read = <A>(task: TE.TaskEither<StoreFault, A>): TE.TaskEither<StoreFailure, A> => TE.mapLeft(asFailure)(task)
