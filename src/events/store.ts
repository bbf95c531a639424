import * as TE from 'fp-ts/TaskEither'
import type { PointState, References } from './decider'
import type { FeedEntry, FeedQuery, PositionForm } from './feed'
import type { HoldView, IdempotencyKey, PointEvent, Rejection, StoredEvent, UserId, UserPoint } from './model'

/** The store could not be reached or failed; the command's outcome is not applied. */
export interface StoreUnavailable {
  readonly _tag: 'StoreUnavailable'
  readonly cause: unknown
}

/** Someone else appended to this user since the writer read it. */
export interface VersionConflict {
  readonly _tag: 'VersionConflict'
  readonly userId: UserId
  readonly expectedVersion: number
}

/** A stored row that does not decode: data corruption, which no retry mends. */
export interface StoreCorrupt {
  readonly _tag: 'StoreCorrupt'
  readonly table: string
  /** The row's key, e.g. `id 17`: enough to find it, never its values. */
  readonly key: string
  /** Which columns did not decode. */
  readonly detail: string
}

export type StoreFault = StoreUnavailable | VersionConflict | StoreCorrupt

/** What a fault is to a caller outside the writer. */
export type StoreFailure = StoreUnavailable | StoreCorrupt

export const storeUnavailable = (cause: unknown): StoreUnavailable => ({ _tag: 'StoreUnavailable', cause })

export const storeCorrupt = (table: string, key: string, detail: string): StoreCorrupt => ({ _tag: 'StoreCorrupt', table, key, detail })

/** Outside the writer a conflict cannot be retried, so it is reported as the store being unavailable. */
export const asFailure = (fault: StoreFault): StoreFailure => (fault._tag === 'VersionConflict' ? storeUnavailable(fault) : fault)

/** Runs one store call, turning a thrown or rejected error into a fault. */
export const attempt = <A>(call: () => Promise<A>): TE.TaskEither<StoreUnavailable, A> =>
  TE.tryCatch(call, storeUnavailable)

export const versionConflict = (userId: UserId, expectedVersion: number): VersionConflict => ({
  _tag: 'VersionConflict',
  userId,
  expectedVersion,
})

/** What a keyed command was answered, kept so that a retry is answered the same. */
export type RecordedOutcome =
  | { readonly _tag: 'Accepted'; readonly point: number; readonly held?: number; readonly hold?: HoldView; readonly updateMillis: number }
  | Rejection

export interface Receipt {
  readonly key: IdempotencyKey
  readonly userId: UserId
  readonly fingerprint: string
  readonly outcome: RecordedOutcome
}

/** A receipt as the writer hands it to `append`: an accepted one's time is the commit's, which the store knows. */
export interface NewReceipt {
  readonly key: IdempotencyKey
  readonly userId: UserId
  readonly fingerprint: string
  readonly outcome: { readonly _tag: 'Accepted'; readonly point: number; readonly held?: number; readonly hold?: HoldView } | Rejection
}

/** What a batch's refunds, captures and releases name: the uses refunded, the holds resolved. */
export interface Named {
  readonly useIds: readonly number[]
  readonly holdIds: readonly number[]
}

/** A hold the log has not seen resolved, with when it was placed. */
export interface StoredHold extends HoldView {
  readonly placedAt: number
}

/** A balance and the holds that stood against it in the same state of the log. */
export interface BalanceWithHolds {
  readonly point: UserPoint
  readonly holds: StoredHold[]
}

/** Fills in the commit time of an accepted receipt. */
export const recorded = (receipt: NewReceipt, updateMillis: number): Receipt => ({
  ...receipt,
  outcome: receipt.outcome._tag === 'Accepted' ? { ...receipt.outcome, updateMillis } : receipt.outcome,
})

/** Which of a user's events to read; all of them when empty. */
export interface HistoryQuery {
  /** Only events with an id greater than this. */
  readonly after?: number
  /** Only events stamped at or before this time. */
  readonly until?: number
  /** At most this many, oldest first. */
  readonly limit?: number
}

/** What a writer appends once it has decided on a user's state. */
export interface Plan {
  readonly events: readonly PointEvent[]
  /** The state the events lead to. */
  readonly projection: PointState
  readonly receipts: readonly NewReceipt[]
}

/** A plan the store appended under its lock, and the balance it left. */
export interface Locked<P extends Plan> {
  readonly plan: P
  readonly point: UserPoint
}

/**
 * The port every store implements: an event log (the history) and the balance
 * projection derived from it. `append` writes one plan of one user's events,
 * in order, the projection they lead to and the plan's receipts; durable stores
 * do all of it in one transaction and refuse the plan if the user's version is
 * not `expectedVersion`.
 */
export interface PointStore {
  /** The writer's starting state for a user. */
  load(userId: UserId): TE.TaskEither<StoreFault, PointState>
  /** A plan may hold receipts only (keyed rejections): its `events` are then empty. */
  append(userId: UserId, expectedVersion: number, plan: Plan): TE.TaskEither<StoreFault, UserPoint>
  /**
   * Optional, for stores shared by several processes: reads the user's state under a lock, lets `plan` decide on
   * it and appends the plan in the same transaction, so a rival cannot move the version in between. A writer
   * that lost a race retries this way, so a rival that keeps winning the optimistic race cannot starve it.
   */
  appendLocked?<P extends Plan>(userId: UserId, plan: (state: PointState) => P): TE.TaskEither<StoreFault, Locked<P>>
  /**
   * The user's stored receipts among these keys, still within the retention window: keys are the user's own,
   * and a receipt past the window is not found, whether or not it has been pruned yet.
   */
  receipts(userId: UserId, keys: readonly IdempotencyKey[]): TE.TaskEither<StoreFault, Receipt[]>
  /**
   * What the named uses and holds are, read fresh for each batch that names any: each of the user's USE events
   * among `useIds` with what has been refunded of it, and how each hold among `holdIds` that was resolved ended.
   * Read after the state the batch is decided on, so an append on that state's version sees nothing older.
   */
  references(userId: UserId, named: Named): TE.TaskEither<StoreFault, References>
  /**
   * The user's holds the log has not resolved (expired ones included, until their EXPIRE is written), or with
   * `at`, those placed at or before `at` and not resolved by then. Expiry is the reader's to apply, by its clock.
   */
  holds(userId: UserId, at?: number): TE.TaskEither<StoreFault, StoredHold[]>
  /** Up to `limit` holds of any user whose expiry is at or before `now` and which no EXPIRE has ended yet, soonest first. */
  expiredHolds(now: number, limit: number): TE.TaskEither<StoreFault, ReadonlyArray<{ readonly userId: UserId; readonly holdId: number }>>
  /** The projected balance, as reads should see it. */
  balance(userId: UserId): TE.TaskEither<StoreFault, UserPoint>
  /**
   * Optional: the balance right after the user's events stamped at or before `at`, and that last event's time
   * (`at` itself when there is none), looked up rather than folded. Without it the read side folds `history`.
   */
  balanceAt?(userId: UserId, at: number): TE.TaskEither<StoreFault, UserPoint>
  /**
   * Optional: what `balance` and `holds` answer (with `at`, `balanceAt` and `holds(userId, at)`), from one snapshot.
   * Read one after the other, a write committed in between makes one answer of two states: points counted both as
   * held and as spent, or `available` below zero. A store whose reads can be one snapshot implements this.
   */
  balanceWithHolds?(userId: UserId, at?: number): TE.TaskEither<StoreFault, BalanceWithHolds>
  /** The user's events, oldest first, straight from the log. */
  history(userId: UserId, query?: HistoryQuery): TE.TaskEither<StoreFault, StoredEvent[]>
  /**
   * Optional, for readiness: whether the store can serve writes now. After a failed commit it answers a fault
   * until a small write of its own succeeds, so an instance taken out of rotation finds out by itself that it works.
   */
  readiness?(): TE.TaskEither<StoreFault, void>
  /**
   * The change feed: events of every user after a position, oldest first, each user's in version order. A reader
   * that resumes after the last position it was given never misses an event that commits later: a store shows an
   * event only once no event below its position can still commit. Optional for test doubles only.
   */
  feed?(query: FeedQuery): TE.TaskEither<StoreFault, FeedEntry[]>
  /** The form of the positions `feed` gives, and the only one it reads: another's is refused before it asks. */
  readonly feedPositions?: PositionForm
  close(): Promise<void>
}

/**
 * The store calls an observer is told of; `appendLocked` counts as `append`, and `balanceWithHolds` as `balance`
 * (`balanceAt` with `at`), the read it stands in for, so a dashboard's series do not change with the store.
 */
export type StoreCall = 'load' | 'append' | 'balance' | 'balanceAt' | 'history' | 'receipts' | 'references' | 'holds' | 'expiredHolds' | 'feed'

/** Told how long each store call took and whether it answered or faulted. */
export type StoreObserver = (call: StoreCall, outcome: 'ok' | 'fault', seconds: number) => void
