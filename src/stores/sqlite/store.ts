import type { Database } from 'better-sqlite3'
import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import { initialState, type PointState } from '../../events/decider'
import type { References } from '../../events/decider'
import type { FeedEntry, FeedQuery } from '../../events/feed'
import { StoredEvent, type IdempotencyKey, type UserId, type UserPoint } from '../../events/model'
import { storeUnavailable, type BalanceWithHolds, type HistoryQuery, type Named, type Plan, type PointStore, type Receipt, type StoredHold, type StoreFault } from '../../events/store'
import type { HoldsRow, LogEntry, ReplayedState } from '../../projections/audit'
import type { AuditSource, DuplicateKey } from '../../projections/audit-run'
import {
  activeHolds,
  BalanceRow,
  decodeRow,
  LastEventRow,
  storeFault,
  toBalanceWithHolds,
  toDueHold,
  toReceipt,
  toReferences,
  toStoredEvent,
  toStoredHold,
  type AppendJob,
  type Appended,
  type Commit,
  type RowRef,
} from '../sql/rows'
import { defaultReceiptRetentionMillis, type PrunesReceipts } from '../receipt-retention'
import { TurnBatch } from '../turn-batch'
import { WriteHealth } from '../write-health'
import { committer } from './append'
import { SqliteAudit } from './audit'
import { prepareCatalogue, type Catalogue } from './catalogue'
import { openDatabase, type SqliteOpenOptions } from './database'
import { FileIdentity } from './file-identity'
import { writeProbe } from './write-probe'

export interface SqliteStoreOptions {
  /**
   * true (default): every append of one event-loop turn, across users, shares one
   * transaction and one fsync. false: one transaction per append, kept only so the
   * benchmark can show the difference.
   */
  readonly groupCommit?: boolean
  readonly clock?: () => number
  /** Called after each committed transaction: how many appends it held, how long it took (fsync included). */
  readonly onCommit?: (commit: Commit) => void
  /** How long a receipt answers a retry, from its commit. */
  readonly receiptRetentionMillis?: number
}

/** Where a balance read from a user's last event comes from, as a corrupt row is reported. */
const lastEventOf = (userId: UserId): RowRef => ({ table: 'events', key: `user_id ${userId}, last version` })

export const openSqliteStore = (path: string, options: SqliteStoreOptions & SqliteOpenOptions = {}): SqliteStore =>
  new SqliteStore(openDatabase(path, options), options)

/**
 * The event log in one SQLite file, each event with the balance it leaves: a user's balance is their last event's.
 * An append writes its events (and the holds table, by trigger) in one transaction, refused if the user's version
 * moved. Faults come back as values; nothing here throws to the caller.
 */
export class SqliteStore implements PointStore, AuditSource, PrunesReceipts {
  private readonly clock: () => number
  private readonly receiptRetentionMillis: number
  private readonly sql: Catalogue
  private readonly commit: (jobs: readonly AppendJob[]) => Appended[]
  private readonly batch: TurnBatch<AppendJob, Appended> | undefined
  /** The reads asked for during one turn of the event loop, answered together (see `readTogether`). */
  private readonly reads: TurnBatch<() => unknown, E.Either<StoreFault, unknown>>
  private readonly snapshot: (run: () => E.Either<StoreFault, unknown>[]) => E.Either<StoreFault, unknown>[]
  private readonly audit: SqliteAudit
  private readonly file: FileIdentity | undefined
  private readonly health: WriteHealth

  constructor(
    private readonly db: Database,
    options: SqliteStoreOptions = {},
  ) {
    this.clock = options.clock ?? Date.now
    this.receiptRetentionMillis = options.receiptRetentionMillis ?? defaultReceiptRetentionMillis
    this.sql = prepareCatalogue(db)
    this.file = FileIdentity.of(db)
    const moved = () => this.file?.moved()
    this.health = new WriteHealth({
      read: this.read(() => void this.sql.readLastEvent(1 as UserId)),
      write: this.read(() => writeProbe(db)),
    })
    const { clock, receiptRetentionMillis } = this
    const commit = committer(db, this.sql, { clock, receiptRetentionMillis, onCommit: options.onCommit ?? (() => undefined), moved })
    this.commit = (jobs) => [...this.health.observe(commit(jobs))]
    this.batch = options.groupCommit === false ? undefined : new TurnBatch(this.commit)
    this.snapshot = db.transaction((run: () => E.Either<StoreFault, unknown>[]) => run())
    this.reads = new TurnBatch((queries) => this.readAll(queries))
    this.audit = new SqliteAudit(db, this.sql)
  }

  load(userId: UserId): TE.TaskEither<StoreFault, PointState> {
    return this.readTogether(() => {
      const row = this.sql.readLastEvent(userId)
      if (row === undefined) return initialState
      const { point, version } = decodeRow(LastEventRow, row, lastEventOf(userId))
      return { balance: point, version, ...activeHolds(this.sql.readHolds(userId).map(toStoredHold)) }
    })
  }

  references(userId: UserId, { useIds, holdIds }: Named): TE.TaskEither<StoreFault, References> {
    return this.read(() => toReferences(this.sql.readUses(userId, useIds), this.sql.readEndings(userId, holdIds)))
  }

  holds(userId: UserId, at?: number): TE.TaskEither<StoreFault, StoredHold[]> {
    return this.readTogether(() => this.sql.readHolds(userId, at).map(toStoredHold))
  }

  expiredHolds(now: number, limit: number): TE.TaskEither<StoreFault, Array<{ userId: UserId; holdId: number }>> {
    return this.read(() => this.sql.readExpiredHolds(now, limit).map(toDueHold))
  }

  append(userId: UserId, expectedVersion: number, plan: Plan): TE.TaskEither<StoreFault, UserPoint> {
    const job: AppendJob = { userId, expectedVersion, plan }
    return () => (this.batch === undefined ? Promise.resolve(this.commit([job])[0]!) : this.batch.submit(job))
  }

  balance(userId: UserId): TE.TaskEither<StoreFault, UserPoint> {
    return this.readTogether(() => {
      const row = this.sql.readLastEvent(userId)
      if (row === undefined) return { id: userId, point: 0, updateMillis: this.clock() }
      const { id, point, updateMillis } = decodeRow(LastEventRow, row, lastEventOf(userId))
      return { id, point, updateMillis }
    })
  }

  balanceAt(userId: UserId, at: number): TE.TaskEither<StoreFault, UserPoint> {
    return this.readTogether(() => {
      const row = this.sql.readBalanceAt(userId, at)
      return row === undefined ? { id: userId, point: 0, updateMillis: at } : decodeRow(BalanceRow, row, { table: 'events', key: `user_id ${userId}, time_millis <= ${at}` })
    })
  }

  /** One statement, so one snapshot even when it is the turn's only read and runs outside a transaction. */
  balanceWithHolds(userId: UserId, at?: number): TE.TaskEither<StoreFault, BalanceWithHolds> {
    return this.readTogether(() => {
      const row = this.sql.readBalanceWithHolds(userId, at)
      return at === undefined
        ? toBalanceWithHolds(row, { id: userId, point: 0, updateMillis: this.clock() }, lastEventOf(userId))
        : toBalanceWithHolds(row, { id: userId, point: 0, updateMillis: at }, { table: 'events', key: `user_id ${userId}, time_millis <= ${at}` })
    })
  }

  receipts(userId: UserId, keys: readonly IdempotencyKey[]): TE.TaskEither<StoreFault, Receipt[]> {
    return this.readTogether(() => this.sql.readReceipts(userId, keys, this.clock() - this.receiptRetentionMillis).map(toReceipt))
  }

  /** One short write transaction of its own; SQLite serialises it with commits, so it waits for none. */
  pruneReceipts(limit: number): TE.TaskEither<StoreFault, number> {
    return this.read(() => this.sql.pruneReceipts(this.clock() - this.receiptRetentionMillis, limit))
  }

  history(userId: UserId, query: HistoryQuery = {}): TE.TaskEither<StoreFault, StoredEvent[]> {
    const { after = 0, until = Number.MAX_SAFE_INTEGER, limit = -1 } = query
    return this.readTogether(() => this.sql.readHistory({ userId, after, until, limit }).map(toStoredEvent))
  }

  /** Positions here are ids (commit part 0); one with a commit part, from another store, is refused before a read. */
  readonly feedPositions = 'event'

  /** A position with a commit part (refused before it gets here) would sort after every event. */
  feed({ after, limit }: FeedQuery): TE.TaskEither<StoreFault, FeedEntry[]> {
    return this.readTogether(() =>
      this.sql.readFeed({ after: after.commit > 0 ? Number.MAX_SAFE_INTEGER : after.event, limit }).map((row) => {
        const event = toStoredEvent(row)
        return { position: { commit: 0, event: event.id }, event }
      }),
    )
  }

  /** Not ready while the file at the path is not the one open, or after a failed commit until a write probe succeeds. */
  readiness(): TE.TaskEither<StoreFault, void> {
    return async () => {
      const moved = this.file?.moved()
      return moved === undefined ? this.health.readiness() : E.left(storeUnavailable(moved))
    }
  }

  scanEvents(userId?: UserId): Iterable<LogEntry[]> {
    return this.audit.scanEvents(userId)
  }

  duplicateKeys(): DuplicateKey[] {
    return this.audit.duplicateKeys()
  }

  scanHolds(userId?: UserId): Iterable<HoldsRow[]> {
    return this.audit.scanHolds(userId)
  }

  rebuild(states: readonly ReplayedState[], userId?: UserId): Promise<void> {
    return this.audit.rebuild(states, userId)
  }

  /** Commits what is waiting, then closes the file. */
  close(): Promise<void> {
    // The work is synchronous: what was waiting is read or committed before `flush` returns.
    void this.reads.flush()
    void this.batch?.flush()
    if (this.db.open) this.db.close()
    return Promise.resolve()
  }

  private read<A>(query: () => A): TE.TaskEither<StoreFault, A> {
    return () => Promise.resolve(E.tryCatch(query, storeFault))
  }

  /**
   * A read that waits for the end of the turn and runs with the turn's other reads in one read transaction. Each
   * statement outside a transaction takes and drops SQLite's WAL read lock (two `fcntl` calls); a charge to a user
   * whose writer starts, and a balance read, pay that on every request otherwise. Each read still fails alone.
   */
  private readTogether<A>(query: () => A): TE.TaskEither<StoreFault, A> {
    return () => this.reads.submit(query) as Promise<E.Either<StoreFault, A>>
  }

  private readAll(queries: ReadonlyArray<() => unknown>): E.Either<StoreFault, unknown>[] {
    const each = () => queries.map((query) => E.tryCatch(query, storeFault))
    // A closed file fails each read as before; one alone gains nothing from a transaction.
    if (!this.db.open || this.db.inTransaction || queries.length === 1) return each()
    try {
      return this.snapshot(each)
    } catch (error) {
      const fault = storeFault(error)
      return queries.map(() => E.left(fault))
    }
  }
}
