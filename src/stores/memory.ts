import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import { PointHistoryTable, UserPointTable, type PointHistory, type UserPoint as UserPointRow } from '../../database'
import type { PointState } from '../events/decider'
import type { FeedEntry, FeedQuery } from '../events/feed'
import type { Amount, IdempotencyKey, PointEvent, StoredEvent, UserId, UserPoint } from '../events/model'
import {
  attempt,
  recorded,
  versionConflict,
  type HistoryQuery,
  type NewReceipt,
  type Plan,
  type PointStore,
  type Receipt,
  type StoreFault,
} from '../events/store'
import type { LogEntry, ProjectionRow } from '../projections/audit'
import type { AuditSource, DuplicateKey } from '../projections/audit-run'
import { replay } from '../projections/balance'
import { defaultReceiptRetentionMillis } from './receipt-retention'

export interface MemoryStoreOptions {
  /** How many idempotency receipts to keep; the oldest are forgotten first. */
  readonly maxReceipts?: number
  /** How long a receipt answers a retry, from the time it was recorded. */
  readonly receiptRetentionMillis?: number
  /** Stamps each receipt; the window is measured on it. */
  readonly clock?: () => number
}

/** A receipt and when this store recorded it. */
interface Kept {
  readonly receipt: Receipt
  readonly at: number
}

/** One map key per (user, key): the user id is digits, so the first colon ends it. */
const slot = (userId: UserId, key: IdempotencyKey): string => `${userId}:${key}`

/**
 * The given in-memory tables behind the store port. They have no transactions,
 * so a batch is appended event by event and then projected; the history table
 * stays the source of truth, and `load` always rebuilds state from it.
 */
export class MemoryStore implements PointStore, AuditSource {
  /** Per-user log length, so a stale `expectedVersion` is refused as in durable stores. */
  private readonly versions = new Map<UserId, number>()

  /** Receipts of keyed commands by (user, key), oldest first; the oldest are forgotten past `maxReceipts` or the window. */
  private readonly receiptsByKey = new Map<string, Kept>()
  private readonly maxReceipts: number
  private readonly retentionMillis: number
  private readonly clock: () => number
  /** (user, key) of appends under way, so two writers of one user cannot both record one key. */
  private readonly claimedKeys = new Set<string>()
  /**
   * Every event written, in the order its insert completed, for the change feed: the tables cannot list all users'
   * rows. An event's position is its place here, so positions have no gaps and only ever grow.
   */
  private readonly written: StoredEvent[] = []

  constructor(
    private readonly points = new UserPointTable(),
    private readonly histories = new PointHistoryTable(),
    options: MemoryStoreOptions = {},
  ) {
    this.maxReceipts = options.maxReceipts ?? 100_000
    this.retentionMillis = options.receiptRetentionMillis ?? defaultReceiptRetentionMillis
    this.clock = options.clock ?? Date.now
  }

  load(userId: UserId): TE.TaskEither<StoreFault, PointState> {
    return pipe(
      this.history(userId),
      TE.map((events) => {
        const state = replay(events)
        this.versions.set(userId, state.version)
        return state
      }),
    )
  }

  append(userId: UserId, expectedVersion: number, { events, projection, receipts }: Plan): TE.TaskEither<StoreFault, UserPoint> {
    return pipe(
      this.currentVersion(userId),
      TE.flatMapEither((version) => this.claim(userId, version, expectedVersion, events.length, receipts)),
      TE.flatMap(() =>
        pipe(
          attempt(() => this.write(userId, events, projection)),
          // Only what this append claimed is let go, whether it was written or not.
          TE.tapError(() => TE.fromIO(() => this.release(userId, receipts))),
          TE.tap((written) => TE.fromIO(() => this.remember(userId, receipts, written.updateMillis))),
        ),
      ),
    )
  }

  /**
   * Checks and takes the user's next version and the batch's keys in one
   * synchronous step, so a second append on the same version, or another
   * append of this user with one of these keys, loses until this one is done.
   */
  private claim(
    userId: UserId,
    version: number,
    expectedVersion: number,
    count: number,
    receipts: readonly NewReceipt[],
  ): E.Either<StoreFault, void> {
    const now = this.clock()
    const keyTaken = receipts.some(({ key }) => this.live(slot(userId, key), now) !== undefined || this.claimedKeys.has(slot(userId, key)))
    if (version !== expectedVersion || keyTaken) return E.left(versionConflict(userId, expectedVersion))
    this.versions.set(userId, expectedVersion + count)
    for (const { key } of receipts) this.claimedKeys.add(slot(userId, key))
    return E.right(undefined)
  }

  private release(userId: UserId, receipts: readonly NewReceipt[]): void {
    for (const { key } of receipts) this.claimedKeys.delete(slot(userId, key))
  }

  receipts(userId: UserId, keys: readonly IdempotencyKey[]): TE.TaskEither<StoreFault, Receipt[]> {
    const now = this.clock()
    return TE.right(keys.flatMap((key) => this.live(slot(userId, key), now)?.receipt ?? []))
  }

  /** A receipt answers while its window lasts, whether or not it has been forgotten yet. */
  private live(at: string, now: number): Kept | undefined {
    const kept = this.receiptsByKey.get(at)
    return kept !== undefined && now - kept.at < this.retentionMillis ? kept : undefined
  }

  private remember(userId: UserId, receipts: readonly NewReceipt[], updateMillis: number): void {
    this.release(userId, receipts)
    const at = this.clock()
    for (const receipt of receipts) {
      const key = slot(userId, receipt.key)
      // Re-inserted, an expired receipt's successor moves to the young end of the order.
      this.receiptsByKey.delete(key)
      this.receiptsByKey.set(key, { receipt: recorded(receipt, updateMillis), at })
    }
    // Oldest first: past the bound, or past the window (each is dropped once, so this stays cheap).
    for (const [oldest, kept] of this.receiptsByKey) {
      if (this.receiptsByKey.size <= this.maxReceipts && at - kept.at < this.retentionMillis) break
      this.receiptsByKey.delete(oldest)
    }
  }

  balance(userId: UserId): TE.TaskEither<StoreFault, UserPoint> {
    return attempt(async () => toUserPoint(await this.points.selectById(userId)))
  }

  history(userId: UserId, query: HistoryQuery = {}): TE.TaskEither<StoreFault, StoredEvent[]> {
    return attempt(async () => select(await this.histories.selectAllByUserId(userId), query).map(toStoredEvent))
  }

  feed({ after, limit }: FeedQuery): TE.TaskEither<StoreFault, FeedEntry[]> {
    // Positions are places in `written` (commit part 0); one with a commit part, from another store, sorts after them all.
    const from = after.commit > 0 ? this.written.length : after.event
    return TE.right(this.written.slice(from, from + limit).map((event, i) => ({ position: { commit: 0, event: from + i + 1 }, event })))
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  // The tables cannot list their users, so an audit covers the users this store has served.
  private auditedUsers(userId?: UserId): UserId[] {
    return userId === undefined ? [...this.versions.keys()] : [userId]
  }

  async *scanEvents(userId?: UserId): AsyncIterable<LogEntry[]> {
    for (const user of this.auditedUsers(userId)) {
      // Without their times: this store folds a point-in-time read, so a clock that stepped back does not matter here.
      yield (await this.histories.selectAllByUserId(user)).map(({ id, userId, type, amount }) => ({ id, userId: userId as UserId, type, amount: amount as Amount }))
    }
  }

  async *scanProjections(userId?: UserId): AsyncIterable<ProjectionRow[]> {
    for (const user of this.auditedUsers(userId)) {
      yield [{ userId: user, point: (await this.points.selectById(user)).point }]
    }
  }

  /** Keys are unique per user by construction here. */
  duplicateKeys(): DuplicateKey[] {
    return []
  }

  async rebuild(states: ReadonlyArray<{ userId: UserId; balance: number }>): Promise<void> {
    for (const { userId, balance } of states) await this.points.insertOrUpdate(userId, balance)
  }

  private currentVersion(userId: UserId): TE.TaskEither<StoreFault, number> {
    const known = this.versions.get(userId)
    return known !== undefined ? TE.right(known) : pipe(this.load(userId), TE.map((s) => s.version))
  }

  /** Appends one at a time: the table numbers rows as inserts complete. */
  private async write(userId: UserId, events: readonly PointEvent[], projection: PointState): Promise<UserPoint> {
    // A batch of keyed rejections only: nothing to append, the projection stands.
    if (events.length === 0) return { id: userId, point: projection.balance, updateMillis: this.clock() }
    for (const event of events) {
      const row = await this.histories.insert(userId, event.amount, event.type, event.timeMillis)
      this.written.push({ ...event, id: row.id })
    }
    return toUserPoint(await this.points.insertOrUpdate(userId, projection.balance))
  }
}

/** The table reads a user's whole history; the query is applied here. */
const select = (rows: PointHistory[], { after = 0, until = Infinity, limit = Infinity }: HistoryQuery): PointHistory[] =>
  rows.filter((row) => row.id > after && row.timeMillis <= until).slice(0, limit)

// The tables hold only what the service wrote through the branded types.
const toUserPoint = (row: UserPointRow): UserPoint => row as UserPoint
const toStoredEvent = (row: PointHistory): StoredEvent => row as StoredEvent
