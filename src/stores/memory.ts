import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import { PointHistoryTable, UserPointTable, type PointHistory, type UserPoint as UserPointRow } from '../../database'
import type { PointState, References, UseRecord } from '../events/decider'
import type { FeedEntry, FeedEvent, FeedQuery } from '../events/feed'
import type { EndingType, IdempotencyKey, PointEvent, StoredEvent, UserId, UserPoint } from '../events/model'
import {
  attempt,
  recorded,
  versionConflict,
  type HistoryQuery,
  type Named,
  type NewReceipt,
  type Plan,
  type PointStore,
  type Receipt,
  type StoredHold,
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

/** What a table row really is when it is not a plain charge or use: the given tables know CHARGE and USE only. */
interface Link {
  readonly type: 'REFUND' | 'CAPTURE'
  readonly ref: number
}

/** An event that moves no points (HOLD, RELEASE, EXPIRE), kept beside the tables at its place in the user's log. */
interface Beside {
  readonly version: number
  readonly event: PointEvent
}

/** An event of the user's whole log; `id` is the table row's, or for an event kept beside, the last row's before it. */
interface Logged {
  readonly id: number
  readonly event: PointEvent
  readonly beside: boolean
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
  /** A refund is written as a charge row and a capture as a use row; what each really is, by row id. */
  private readonly links = new Map<number, Link>()
  /** Each user's events that move no points, in version order. */
  private readonly beside = new Map<UserId, Beside[]>()
  /** Every user's active holds by (user, hold), for the sweeper. */
  private readonly active = new Map<string, { readonly userId: UserId; readonly holdId: number; readonly expiresAt: number }>()
  /**
   * Every event written, in the order its insert completed, for the change feed: the tables cannot list all users'
   * rows. An event's position is its place here, so positions have no gaps and only ever grow.
   */
  private readonly written: FeedEvent[] = []

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
      this.log(userId),
      TE.map((logged) => {
        const state = replay(logged.map(({ event }) => event))
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
          attempt(() => this.write(userId, expectedVersion, events, projection)),
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
    return attempt(async () => select(await this.histories.selectAllByUserId(userId), query).map((row) => this.restored(row)))
  }

  references(userId: UserId, { useIds, holdIds }: Named): TE.TaskEither<StoreFault, References> {
    return pipe(
      this.log(userId),
      TE.map((logged) => {
        const uses = new Map<number, UseRecord>()
        for (const { id, event } of logged) if (event.type === 'USE' && useIds.includes(id)) uses.set(id, { amount: event.amount, refunded: 0 })
        const ended = new Map<number, EndingType>()
        for (const { event } of logged) {
          const use = event.type === 'REFUND' && event.ref !== undefined ? uses.get(event.ref) : undefined
          if (use !== undefined) uses.set(event.ref!, { ...use, refunded: use.refunded + event.amount })
          if ((event.type === 'CAPTURE' || event.type === 'RELEASE' || event.type === 'EXPIRE') && holdIds.includes(event.ref ?? 0)) ended.set(event.ref!, event.type)
        }
        return { uses, ended }
      }),
    )
  }

  holds(userId: UserId, at?: number): TE.TaskEither<StoreFault, StoredHold[]> {
    const until = at ?? Number.POSITIVE_INFINITY
    return pipe(
      this.log(userId),
      TE.map((logged) => {
        const open = new Map<number, StoredHold>()
        for (const { event } of logged) {
          if (event.timeMillis > until) break
          if (event.type === 'HOLD') open.set(event.ref!, { holdId: event.ref!, amount: event.amount, expiresAt: event.expiresAt!, placedAt: event.timeMillis })
          if (event.type === 'CAPTURE' || event.type === 'RELEASE' || event.type === 'EXPIRE') open.delete(event.ref!)
        }
        return [...open.values()]
      }),
    )
  }

  expiredHolds(now: number, limit: number): TE.TaskEither<StoreFault, Array<{ userId: UserId; holdId: number }>> {
    const due = [...this.active.values()].filter((hold) => hold.expiresAt <= now).sort((a, b) => a.expiresAt - b.expiresAt)
    return TE.right(due.slice(0, limit).map(({ userId, holdId }) => ({ userId, holdId })))
  }

  /** The user's whole log: the table's rows as what they really are, and the events kept beside them in their places. */
  private log(userId: UserId): TE.TaskEither<StoreFault, Logged[]> {
    return attempt(async () => {
      const rows = (await this.histories.selectAllByUserId(userId)).map((row) => this.restored(row))
      const beside = this.beside.get(userId) ?? []
      const logged: Logged[] = []
      let row = 0
      let next = 0
      for (let version = 1; row < rows.length || next < beside.length; version++) {
        const kept = beside[next]
        if (kept !== undefined && kept.version === version) {
          logged.push({ id: rows[row - 1]?.id ?? 0, event: kept.event, beside: true })
          next++
        } else {
          const event = rows[row++]!
          logged.push({ id: event.id, event, beside: false })
        }
      }
      return logged
    })
  }

  /** A table row as the event it records: a charge row may be a refund, a use row a capture. */
  private restored(row: PointHistory): StoredEvent {
    const link = this.links.get(row.id)
    return link === undefined ? toStoredEvent(row) : { ...toStoredEvent(row), type: link.type, ref: link.ref }
  }

  /** Positions are places in `written` (commit part 0); one with a commit part, from another store, is refused before a read. */
  readonly feedPositions = 'event'

  feed({ after, limit }: FeedQuery): TE.TaskEither<StoreFault, FeedEntry[]> {
    // A position with a commit part (refused before it gets here) would sort after every event.
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
      // Without `timeMillis`: this store folds a point-in-time read, so a clock that stepped back does not matter
      // here; the time is given as `decidedAt`, which expiry is judged by.
      const logged = await this.log(user)()
      if (E.isLeft(logged)) throw logged.left._tag === 'StoreUnavailable' ? logged.left.cause : new Error(logged.left._tag)
      const uses = new Map(logged.right.flatMap(({ id, event }) => (event.type === 'USE' ? [[id, event.amount] as const] : [])))
      yield logged.right.map(({ id, event, beside }) => ({
        id,
        userId: event.userId,
        type: event.type,
        amount: event.amount,
        decidedAt: event.timeMillis,
        ...(event.type === 'REFUND' && uses.has(event.ref ?? 0) ? { useAmount: uses.get(event.ref ?? 0) } : {}),
        ...(event.ref === undefined ? {} : { ref: event.ref }),
        ...(event.expiresAt === undefined ? {} : { expiresAt: event.expiresAt }),
        ...(beside ? { beside } : {}),
      }))
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

  /**
   * Sets the balance rows of these users, and no others: a rebuild of one user leaves the rest alone. There is no
   * holds table here to rebuild: the holds are folded from the log on each read, and the sweeper's index of them
   * is written with each event.
   */
  async rebuild(states: ReadonlyArray<{ userId: UserId; balance: number }>): Promise<void> {
    for (const { userId, balance } of states) await this.points.insertOrUpdate(userId, balance)
  }

  private currentVersion(userId: UserId): TE.TaskEither<StoreFault, number> {
    const known = this.versions.get(userId)
    return known !== undefined ? TE.right(known) : pipe(this.load(userId), TE.map((s) => s.version))
  }

  /** Appends one at a time: the table numbers rows as inserts complete. */
  private async write(userId: UserId, expectedVersion: number, events: readonly PointEvent[], projection: PointState): Promise<UserPoint> {
    // A batch of keyed rejections only: nothing to append, the projection stands.
    if (events.length === 0) return { id: userId, point: projection.balance, updateMillis: this.clock() }
    for (const [i, event] of events.entries()) {
      const id = await this.writeOne(userId, expectedVersion + i + 1, event)
      this.written.push(id === undefined ? event : { ...event, id })
    }
    return toUserPoint(await this.points.insertOrUpdate(userId, projection.balance))
  }

  /**
   * A movement as a table row (a refund as a movement in, a capture as one out, each linked beside); any other
   * event beside. Answers the row's id, if the event got a row.
   */
  private async writeOne(userId: UserId, version: number, event: PointEvent): Promise<number | undefined> {
    if (event.type === 'CHARGE' || event.type === 'USE') return (await this.histories.insert(userId, event.amount, event.type, event.timeMillis)).id
    let id: number | undefined
    if (event.type === 'REFUND' || event.type === 'CAPTURE') {
      const row = await this.histories.insert(userId, event.amount, event.type === 'REFUND' ? 'CHARGE' : 'USE', event.timeMillis)
      this.links.set(row.id, { type: event.type, ref: event.ref ?? 0 })
      id = row.id
    } else {
      this.beside.set(userId, [...(this.beside.get(userId) ?? []), { version, event }])
    }
    const slotOf = `${userId}:${event.ref}`
    if (event.type === 'HOLD') this.active.set(slotOf, { userId, holdId: event.ref ?? version, expiresAt: event.expiresAt ?? Number.POSITIVE_INFINITY })
    else if (event.type !== 'REFUND') this.active.delete(slotOf)
    return id
  }
}

/** The table reads a user's whole history; the query is applied here. */
const select = (rows: PointHistory[], { after = 0, until = Infinity, limit = Infinity }: HistoryQuery): PointHistory[] =>
  rows.filter((row) => row.id > after && row.timeMillis <= until).slice(0, limit)

// The tables hold only what the service wrote through the branded types.
const toUserPoint = (row: UserPointRow): UserPoint => row as UserPoint
const toStoredEvent = (row: PointHistory): StoredEvent => row as StoredEvent
