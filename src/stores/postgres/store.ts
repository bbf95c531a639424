import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import * as t from 'io-ts'
import type { Pool } from 'pg'
import type { PointState, References } from '../../events/decider'
import type { FeedEntry, FeedQuery } from '../../events/feed'
import { StoredEvent, type IdempotencyKey, type UserId, type UserPoint } from '../../events/model'
import {
  attempt,
  storeUnavailable,
  type BalanceWithHolds,
  type HistoryQuery,
  type Locked,
  type Named,
  type Plan,
  type PointStore,
  type Receipt,
  type StoredHold,
  type StoreFault,
} from '../../events/store'
import type { HoldsRow, LogEntry, ProjectionRow, ReplayedState } from '../../projections/audit'
import type { AuditSource, DuplicateKey } from '../../projections/audit-run'
import { decodeRow, keyOf, storeFault, toStoredEvent, type AppendJob, type Appended, type Commit } from '../sql/rows'
import { defaultReceiptRetentionMillis, type PrunesReceipts } from '../receipt-retention'
import { TurnBatch } from '../turn-batch'
import { WriteHealth } from '../write-health'
import { PostgresAppends } from './append'
import { PostgresAudit } from './audit'
import { createPool, defaultConnectTimeoutMillis, transaction, withMigrationPool, type Executor, type PoolOptions } from './pool'
import { migratePostgres } from './schema'
import { loadStates } from './sql/load-state'
import { pruneReceipts } from './sql/prune-receipts'
import { readBalance } from './sql/read-balance'
import { readBalanceAt } from './sql/read-balance-at'
import { readBalanceWithHolds } from './sql/read-balance-with-holds'
import { readExpiredHolds } from './sql/read-expired-holds'
import { readFeed } from './sql/read-feed'
import { readHistory } from './sql/read-history'
import { readHolds } from './sql/read-holds'
import { readReferences } from './sql/read-references'
import { readReceipts } from './sql/read-receipts'
import { writeProbe } from './sql/write-probe'

export interface PostgresStoreOptions extends PoolOptions {
  readonly clock?: () => number
  /** Called after each committed transaction: how many appends it held, how long it took. */
  readonly onCommit?: (commit: Commit) => void
  /** How long a receipt answers a retry, from its commit. */
  readonly receiptRetentionMillis?: number
  /** Batches committing at once; appends that arrive meanwhile wait and go together in the next one. */
  readonly commitsInFlight?: number
}

/** One batch in flight while the next forms makes each round trip carry more appends. */
export const defaultCommitsInFlight = 1

/** Opens a pool on `url` and brings the schema up to date before resolving. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const store = new PostgresStore(url, options)
  const ready = await store.ready()
  if (E.isLeft(ready)) {
    await store.close()
    throw ready.left._tag === 'StoreUnavailable' ? ready.left.cause : new Error('the schema could not be applied')
  }
  return store
}

/**
 * The event log and balance projection on PostgreSQL, shared by any number of instances.
 * Appends go through `append.ts`, the group-commit and claim protocol; the appends submitted
 * while the last batch commits, across users, share one statement (one transaction if some carry receipts).
 */
export class PostgresStore implements PointStore, AuditSource, PrunesReceipts {
  private readonly pool: Pool
  private readonly clock: () => number
  private readonly receiptRetentionMillis: number
  private readonly appends: PostgresAppends
  private readonly batch: TurnBatch<AppendJob, Appended>
  private readonly loads: TurnBatch<UserId, E.Either<StoreFault, PointState>>
  private readonly audit: PostgresAudit
  private readonly health: WriteHealth
  private migrated: Promise<E.Either<StoreFault, void>> | undefined

  constructor(
    private readonly url: string,
    private readonly options: PostgresStoreOptions = {},
  ) {
    this.clock = options.clock ?? Date.now
    this.receiptRetentionMillis = options.receiptRetentionMillis ?? defaultReceiptRetentionMillis
    this.pool = createPool(url, options)
    this.appends = new PostgresAppends(this.pool, {
      clock: this.clock,
      receiptRetentionMillis: this.receiptRetentionMillis,
      onCommit: options.onCommit ?? (() => undefined),
      usable: () => this.usable(),
    })
    this.health = new WriteHealth({
      read: this.read((db) => db.query('SELECT 1 FROM balances LIMIT 1').then(() => undefined)),
      write: pipe(
        TE.fromTask(() => this.usable()),
        TE.flatMap(TE.fromEither),
        TE.flatMap(() => TE.tryCatch(() => transaction(this.pool, writeProbe), storeFault)),
      ),
    })
    this.batch = new TurnBatch(async (jobs) => this.health.observe(await this.appends.commit(jobs)), options.commitsInFlight ?? defaultCommitsInFlight)
    this.loads = new TurnBatch((userIds) => this.loadAll(userIds))
    this.audit = new PostgresAudit(this.pool, this.clock)
  }

  /** Applies pending migrations once; a failed attempt is tried again by the next call. */
  ready(): Promise<E.Either<StoreFault, void>> {
    const connectTimeout = this.options.connectTimeoutMillis ?? defaultConnectTimeoutMillis
    this.migrated ??= attempt(() => withMigrationPool(this.url, connectTimeout, migratePostgres))().then((result) => {
      if (E.isLeft(result)) this.migrated = undefined
      return result
    })
    return this.migrated
  }

  /** Read with the other loads of the same turn, in one statement. */
  load(userId: UserId): TE.TaskEither<StoreFault, PointState> {
    return () => this.loads.submit(userId)
  }

  append(userId: UserId, expectedVersion: number, plan: Plan): TE.TaskEither<StoreFault, UserPoint> {
    return () => this.batch.submit({ userId, expectedVersion, plan })
  }

  appendLocked<P extends Plan>(userId: UserId, plan: (state: PointState) => P): TE.TaskEither<StoreFault, Locked<P>> {
    return async () => this.health.observe([await this.appends.appendLocked(userId, plan)])[0]!
  }

  /** Not ready after a failed commit until a write probe succeeds, even with reads answering. */
  readiness(): TE.TaskEither<StoreFault, void> {
    return this.health.readiness
  }

  references(userId: UserId, named: Named): TE.TaskEither<StoreFault, References> {
    return this.read((db) => readReferences(db, userId, named))
  }

  holds(userId: UserId, at?: number): TE.TaskEither<StoreFault, StoredHold[]> {
    return this.read((db) => readHolds(db, userId, at))
  }

  expiredHolds(now: number, limit: number): TE.TaskEither<StoreFault, Array<{ userId: UserId; holdId: number }>> {
    return this.read((db) => readExpiredHolds(db, now, limit))
  }

  balance(userId: UserId): TE.TaskEither<StoreFault, UserPoint> {
    return this.read((db) => readBalance(db, userId, this.clock))
  }

  balanceAt(userId: UserId, at: number): TE.TaskEither<StoreFault, UserPoint> {
    return this.read((db) => readBalanceAt(db, userId, at))
  }

  /** One statement, so one snapshot under READ COMMITTED, and one round trip where a transaction would take three. */
  balanceWithHolds(userId: UserId, at?: number): TE.TaskEither<StoreFault, BalanceWithHolds> {
    return this.read((db) => readBalanceWithHolds(db, userId, this.clock, at))
  }

  receipts(userId: UserId, keys: readonly IdempotencyKey[]): TE.TaskEither<StoreFault, Receipt[]> {
    return this.read((db) => readReceipts(db, userId, keys, this.clock() - this.receiptRetentionMillis))
  }

  /** One statement, so one short transaction; safe on any number of instances at once. */
  pruneReceipts(limit: number): TE.TaskEither<StoreFault, number> {
    return this.read((db) => pruneReceipts(db, this.clock() - this.receiptRetentionMillis, limit))
  }

  history(userId: UserId, query: HistoryQuery = {}): TE.TaskEither<StoreFault, StoredEvent[]> {
    return this.read((db) => readHistory(db, userId, query))
  }

  /** Positions are `(tx, id)`, and `tx` is never 0: an id alone, from another store, is refused before a read. */
  readonly feedPositions = 'commit-event'

  feed({ after, limit }: FeedQuery): TE.TaskEither<StoreFault, FeedEntry[]> {
    return this.read(async (db) => (await readFeed(db, after, limit)).map(feedEntry))
  }

  scanEvents(userId?: UserId): AsyncIterable<LogEntry[]> {
    return this.audit.scanEvents(userId)
  }

  scanProjections(userId?: UserId): AsyncIterable<ProjectionRow[]> {
    return this.audit.scanProjections(userId)
  }

  duplicateKeys(): AsyncIterable<DuplicateKey> {
    return this.audit.duplicateKeys()
  }

  scanHolds(userId?: UserId): AsyncIterable<HoldsRow[]> {
    return this.audit.scanHolds(userId)
  }

  rebuild(states: readonly ReplayedState[], userId?: UserId): Promise<void> {
    return this.audit.rebuild(states, userId)
  }

  /** Commits what is waiting, then closes every connection. */
  async close(): Promise<void> {
    await this.batch.flush()
    if (!this.pool.ended) await this.pool.end()
  }

  /** A read once the schema is in place. */
  private read<A>(query: (db: Executor) => Promise<A>): TE.TaskEither<StoreFault, A> {
    return pipe(
      TE.fromTask(() => this.ready()),
      TE.flatMap(TE.fromEither),
      TE.flatMap(() => TE.tryCatch(() => query(this.pool), storeFault)),
    )
  }

  /**
   * The loads of one turn. With two instances on one database, a charge to a user the other instance wrote since
   * finds its version moved, and its writer reads the user again: with users spread over both, that is many
   * writers a turn, each of which took a connection and a statement of its own.
   */
  private async loadAll(userIds: readonly UserId[]): Promise<Array<E.Either<StoreFault, PointState>>> {
    const loaded = await this.read((db) => loadStates(db, userIds))()
    return E.isRight(loaded) ? loaded.right : userIds.map(() => loaded)
  }

  /** Open and migrated: what a write needs before it takes a connection. */
  private async usable(): Promise<E.Either<StoreFault, void>> {
    return this.pool.ended ? E.left(storeUnavailable(new Error('the store is closed'))) : this.ready()
  }
}

const TxText = t.refinement(t.string, (s) => /^[0-9]{1,16}$/.test(s) && Number.isSafeInteger(Number(s)), 'TxText')
const CommitTxRow = t.type({ commitTx: TxText })

/** A feed row: the event as history reads it, and its transaction, which must fit a safe integer. */
const feedEntry = (row: unknown): FeedEntry => {
  const { commitTx } = decodeRow(CommitTxRow, row, { table: 'events', key: keyOf(row, 'id') })
  // The codec keeps keys it does not know: the event is decoded without `commitTx`, as history reads it.
  const columns: Record<string, unknown> = {}
  for (const [column, value] of Object.entries(row as Record<string, unknown>)) if (column !== 'commitTx') columns[column] = value
  const event = toStoredEvent(columns)
  return { position: { commit: Number(commitTx), event: event.id }, event }
}

