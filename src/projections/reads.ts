import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import type { Balance, StoredEvent, UserId, UserPoint } from '../events/model'
import { asFailure, type PointStore, type StoredHold, type StoreFailure, type StoreFault } from '../events/store'
import { heldOf } from '../events/decider'
import { replay } from './balance'

/** The read side's use cases: balances and histories, from the projection and the log. */
export interface Reads {
  /** The balance, with what active holds reserve of it counted by the clock: a hold past its expiry reserves nothing. */
  readonly balance: (userId: UserId) => TE.TaskEither<StoreFailure, Balance>
  readonly history: (userId: UserId) => TE.TaskEither<StoreFailure, StoredEvent[]>
  /** Up to `limit` events after event `after`; `next` is where the following page starts, if any remain. */
  readonly historyPage: (userId: UserId, page: Page) => TE.TaskEither<StoreFailure, HistoryPage>
  /** The balance as of `at`: one lookup where the store keeps each event's balance, else a replay up to that moment. */
  readonly balanceAt: (userId: UserId, at: number) => TE.TaskEither<StoreFailure, Balance>
  /** The holds that reserve points now, oldest first: not resolved, and not past their expiry by the clock. */
  readonly holds: (userId: UserId) => TE.TaskEither<StoreFailure, StoredHold[]>
}

export interface Page {
  readonly after: number
  readonly limit: number
}

export interface HistoryPage {
  readonly events: StoredEvent[]
  readonly next?: number
}

export const createReads = (store: PointStore, clock: () => number = Date.now): Reads => ({
  balance: (userId) => read(withHeld(store, userId, () => store.balance(userId), clock)),
  history: (userId) => read(store.history(userId)),
  historyPage: (userId, { after, limit }) =>
    pipe(
      read(store.history(userId, { after, limit: limit + 1 })),
      TE.map((events) => toPage(events, limit)),
    ),
  balanceAt: (userId, at) => read(withHeld(store, userId, () => store.balanceAt?.(userId, at) ?? foldedAt(store, userId, at), () => at, at)),
  holds: (userId) => {
    const now = clock()
    return read(TE.map((holds: StoredHold[]) => holds.filter((hold) => hold.expiresAt > now))(store.holds(userId)))
  },
})

/**
 * A balance with the holds that reserved points of it at the moment `clock` gives (as of `at`, when given): from
 * one snapshot where the store reads them together, else `balance` and then the holds, which a write committed in
 * between can make an answer of two states (the memory store's tables have no snapshot to give).
 */
const withHeld = (
  store: PointStore,
  userId: UserId,
  balance: () => TE.TaskEither<StoreFault, UserPoint>,
  clock: () => number,
  at?: number,
): TE.TaskEither<StoreFault, Balance> =>
  pipe(
    store.balanceWithHolds?.(userId, at) ??
      pipe(
        balance(),
        TE.flatMap((point) => TE.map((holds: StoredHold[]) => ({ point, holds }))(store.holds(userId, at))),
      ),
    TE.map(({ point, holds }) => {
      const held = heldOf(holds, clock())
      return { ...point, held, available: point.point - held }
    }),
  )

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
