import Sqlite, { type Database, type Statement, type Transaction } from 'better-sqlite3'
import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import * as t from 'io-ts'
import { initialState, type PointState } from '../events/decider'
import {
  IdempotencyKey,
  RejectionCode,
  StoredEvent,
  UserId,
  UserPoint,
  type Amount,
  type PointEvent,
} from '../events/model'
import {
  storeUnavailable,
  versionConflict,
  type HistoryQuery,
  type NewReceipt,
  type PointStore,
  type Receipt,
  type StoreFault,
} from '../events/store'
import type { LogEntry, ProjectionRow } from '../projections/audit'
import type { AuditSource, DuplicateKey } from '../projections/audit-run'
import { migrate } from './sqlite-schema'
import { TurnBatch } from './turn-batch'

export interface SqliteOpenOptions {
  /** How long a write waits for another connection's lock before failing; it blocks the event loop meanwhile. */
  readonly busyTimeoutMillis?: number
}

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
}

/** Opens (creating if needed) a database file in WAL mode with full fsync, at the latest schema. */
export function openDatabase(path: string, options: SqliteOpenOptions = {}): Database {
  const db = new Sqlite(path, { timeout: options.busyTimeoutMillis ?? 1_000 })
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    migrate(db)
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

export const openSqliteStore = (path: string, options: SqliteStoreOptions & SqliteOpenOptions = {}): SqliteStore =>
  new SqliteStore(openDatabase(path, options), options)

export interface Commit {
  readonly appends: number
  readonly millis: number
}

interface AppendJob {
  readonly userId: UserId
  readonly events: readonly PointEvent[]
  readonly expectedVersion: number
  readonly projection: PointState
  readonly receipts: readonly NewReceipt[]
}

type Appended = E.Either<StoreFault, UserPoint>

const StateRow = t.type({ balance: t.number, version: t.number })

/**
 * The event log and balance projection in one SQLite file. An append writes its
 * events and the projection in one transaction, refused if the user's version
 * moved. Faults come back as values; nothing here throws to the caller.
 */
export class SqliteStore implements PointStore, AuditSource {
  private readonly clock: () => number
  private readonly onCommit: (commit: Commit) => void
  private readonly batch: TurnBatch<AppendJob, Appended> | undefined
  private readonly sql: ReturnType<typeof prepare>
  private readonly commitAll: Transaction<(jobs: readonly AppendJob[], updateMillis: number) => Appended[]>
  private readonly appendOne: (job: AppendJob, updateMillis: number) => Appended

  constructor(
    private readonly db: Database,
    options: SqliteStoreOptions = {},
  ) {
    this.clock = options.clock ?? Date.now
    this.onCommit = options.onCommit ?? (() => undefined)
    this.sql = prepare(db)
    // Nested inside `commitAll`, each append runs in its own savepoint.
    this.appendOne = db.transaction((job: AppendJob, updateMillis: number) => this.write(job, updateMillis))
    this.commitAll = db.transaction((jobs: readonly AppendJob[], updateMillis: number) =>
      jobs.map((job) => this.member(job, updateMillis)),
    )
    this.batch = options.groupCommit === false ? undefined : new TurnBatch((jobs) => this.commit(jobs))
  }

  load(userId: UserId): TE.TaskEither<StoreFault, PointState> {
    return this.read(() => {
      const row: unknown = this.sql.state.get(userId)
      return row === undefined ? initialState : decodeRow(StateRow, row)
    })
  }

  append(
    userId: UserId,
    events: readonly PointEvent[],
    expectedVersion: number,
    projection: PointState,
    receipts: readonly NewReceipt[] = [],
  ): TE.TaskEither<StoreFault, UserPoint> {
    const job: AppendJob = { userId, events, expectedVersion, projection, receipts }
    return () => (this.batch === undefined ? Promise.resolve(this.commit([job])[0]!) : this.batch.submit(job))
  }

  balance(userId: UserId): TE.TaskEither<StoreFault, UserPoint> {
    return this.read(() => {
      const row: unknown = this.sql.balance.get(userId)
      return row === undefined ? { id: userId, point: 0, updateMillis: this.clock() } : decodeRow(UserPoint, row)
    })
  }

  receipts(keys: readonly IdempotencyKey[]): TE.TaskEither<StoreFault, Receipt[]> {
    return this.read(() => this.sql.receipts.all(JSON.stringify(keys)).map(toReceipt))
  }

  history(userId: UserId, query: HistoryQuery = {}): TE.TaskEither<StoreFault, StoredEvent[]> {
    const { after = 0, until = Number.MAX_SAFE_INTEGER, limit = -1 } = query
    return this.read(() =>
      this.sql.history.all({ userId, after, until, limit }).map((row) => decodeRow(StoredEvent, row)),
    )
  }

  // The audit reads rows as arrays, a page at a time, and skips the codecs: it checks every value itself, and must stream fast.
  *scanEvents(userId?: UserId): Generator<LogEntry[]> {
    // The signed amount comes back as one integer: reading the type as text costs a third of the scan.
    type Row = [number, UserId, number, number]
    const page = userId === undefined ? this.sql.scanEvents.raw() : this.sql.scanUserEvents.raw()
    for (let after = 0; ; ) {
      const rows = (userId === undefined ? page.all(after) : page.all(userId, after)) as Row[]
      if (rows.length === 0) return
      yield rows.map(([id, userId, version, signed]) => ({
        id,
        userId,
        version,
        type: signed > 0 ? 'CHARGE' : 'USE',
        amount: Math.abs(signed) as Amount,
      }))
      after = rows[rows.length - 1]![0]
    }
  }

  *scanProjections(userId?: UserId): Generator<ProjectionRow[]> {
    const rows = userId === undefined ? this.sql.scanBalances.raw().iterate() : this.sql.scanUserBalance.raw().iterate(userId)
    yield* chunks(rows as Iterable<[UserId, number, number]>, ([userId, point, version]) => ({ userId, point, version }))
  }

  /** The table's key forbids duplicates; the audit asks anyway, in case the schema was changed by hand. */
  duplicateKeys(): DuplicateKey[] {
    return this.sql.duplicateKeys.all() as DuplicateKey[]
  }

  /** Replaces the whole projection in one transaction. */
  rebuild(states: ReadonlyArray<{ userId: UserId; balance: number; version: number }>): Promise<void> {
    const now = this.clock()
    this.db.transaction(() => {
      this.sql.clearBalances.run()
      for (const { userId, balance, version } of states) this.sql.upsertBalance.run(userId, balance, version, now)
    }).immediate()
    return Promise.resolve()
  }

  /** Commits what is waiting, then closes the file. */
  close(): Promise<void> {
    this.batch?.flush()
    if (this.db.open) this.db.close()
    return Promise.resolve()
  }

  private read<A>(query: () => A): TE.TaskEither<StoreFault, A> {
    return () => Promise.resolve(E.tryCatch(query, storeUnavailable))
  }

  /** One transaction for all jobs; if it cannot commit, none of them is applied. */
  private commit(jobs: readonly AppendJob[]): Appended[] {
    if (!this.db.open) return jobs.map(() => E.left(storeUnavailable(new Error('the store is closed'))))
    const started = performance.now()
    let results: Appended[]
    try {
      results = this.commitAll.immediate(jobs, this.clock())
    } catch (error) {
      const fault = storeUnavailable(error)
      return jobs.map(() => E.left(fault))
    }
    // Outside the try: once committed, the callers must hear so, whatever the hook does.
    this.onCommit({ appends: jobs.length, millis: performance.now() - started })
    return results
  }

  /** One job inside the shared transaction: its failure is its own unless SQLite dropped the whole transaction. */
  private member(job: AppendJob, updateMillis: number): Appended {
    try {
      return this.appendOne(job, updateMillis)
    } catch (error) {
      if (!this.db.inTransaction) throw error
      // Another writer recorded one of these keys first: like a version race, retried after a fresh read.
      if (isReceiptClash(error)) return E.left(versionConflict(job.userId, job.expectedVersion))
      return E.left(storeUnavailable(error))
    }
  }

  private write({ userId, events, expectedVersion, projection, receipts }: AppendJob, updateMillis: number): Appended {
    const current = this.sql.version.get(userId) as number | undefined
    if ((current ?? 0) !== expectedVersion) return E.left(versionConflict(userId, expectedVersion))
    events.forEach((event, i) =>
      this.sql.insertEvent.run(userId, expectedVersion + i + 1, event.type, event.amount, event.timeMillis),
    )
    // A batch of keyed rejections only leaves the projection as it was.
    if (events.length > 0) this.sql.upsertBalance.run(userId, projection.balance, projection.version, updateMillis)
    for (const { key, fingerprint, outcome } of receipts) {
      this.sql.insertReceipt.run(key, userId, fingerprint, JSON.stringify(outcome), updateMillis)
    }
    return E.right({ id: userId, point: projection.balance, updateMillis })
  }
}

const ReceiptRow = t.type({
  key: IdempotencyKey,
  userId: UserId,
  fingerprint: t.string,
  outcome: t.string,
  updateMillis: t.number,
})

const RecordedJson = t.union([
  t.type({ _tag: t.literal('Accepted'), point: t.number }),
  t.type({ _tag: t.literal('Rejection'), code: RejectionCode, detail: t.string }),
])

function toReceipt(row: unknown): Receipt {
  const { key, userId, fingerprint, outcome, updateMillis } = decodeRow(ReceiptRow, row)
  const answer = decodeRow(RecordedJson, JSON.parse(outcome))
  return { key, userId, fingerprint, outcome: answer._tag === 'Accepted' ? { ...answer, updateMillis } : answer }
}

const isReceiptClash = (error: unknown): boolean =>
  error instanceof Sqlite.SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' && /receipts/.test(error.message)

/** Rows an audit reads per query: large enough to amortise the call, small enough to keep memory flat. */
const scanPage = 16_384

/** Groups a synchronous row iterator into arrays, so an async consumer pays per chunk, not per row. */
function* chunks<R, A>(rows: Iterable<R>, toEntry: (row: R) => A, size = 4096): Generator<A[]> {
  let chunk: A[] = []
  for (const row of rows) {
    chunk.push(toEntry(row))
    if (chunk.length === size) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}

type StatementName =
  | 'state'
  | 'version'
  | 'balance'
  | 'history'
  | 'insertEvent'
  | 'upsertBalance'
  | 'scanEvents'
  | 'scanUserEvents'
  | 'scanBalances'
  | 'scanUserBalance'
  | 'clearBalances'
  | 'insertReceipt'
  | 'receipts'
  | 'duplicateKeys'

function prepare(db: Database): Record<StatementName, Statement> {
  return {
    state: db.prepare('SELECT point AS balance, version FROM balances WHERE user_id = ?'),
    version: db.prepare('SELECT version FROM balances WHERE user_id = ?').pluck(),
    balance: db.prepare('SELECT user_id AS id, point, update_millis AS updateMillis FROM balances WHERE user_id = ?'),
    history: db.prepare(
      `SELECT id, user_id AS userId, type, amount, time_millis AS timeMillis
       FROM events WHERE user_id = @userId AND id > @after AND time_millis <= @until
       ORDER BY version LIMIT @limit`,
    ),
    scanEvents: db.prepare(
      `SELECT id, user_id, version, iif(type = 'CHARGE', amount, -amount) FROM events
       WHERE id > ? ORDER BY id LIMIT ${scanPage}`,
    ),
    scanUserEvents: db.prepare(
      `SELECT id, user_id, version, iif(type = 'CHARGE', amount, -amount) FROM events
       WHERE user_id = ? AND id > ? ORDER BY id LIMIT ${scanPage}`,
    ),
    scanBalances: db.prepare('SELECT user_id, point, version FROM balances ORDER BY user_id'),
    scanUserBalance: db.prepare('SELECT user_id, point, version FROM balances WHERE user_id = ?'),
    clearBalances: db.prepare('DELETE FROM balances'),
    insertReceipt: db.prepare(
      'INSERT INTO receipts (key, user_id, fingerprint, outcome, update_millis) VALUES (?, ?, ?, ?, ?)',
    ),
    receipts: db.prepare(
      `SELECT key, user_id AS userId, fingerprint, outcome, update_millis AS updateMillis
       FROM receipts WHERE key IN (SELECT value FROM json_each(?))`,
    ),
    duplicateKeys: db.prepare('SELECT key, COUNT(*) AS count FROM receipts GROUP BY key HAVING COUNT(*) > 1'),
    insertEvent: db.prepare(
      'INSERT INTO events (user_id, version, type, amount, time_millis) VALUES (?, ?, ?, ?, ?)',
    ),
    upsertBalance: db.prepare(
      `INSERT INTO balances (user_id, point, version, update_millis) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET
         point = excluded.point, version = excluded.version, update_millis = excluded.update_millis`,
    ),
  }
}

/** Rows are checked on the way out: a file edited by hand must not leak bad values past the store. */
function decodeRow<A>(codec: t.Decoder<unknown, A>, row: unknown): A {
  return pipe(
    codec.decode(row),
    E.getOrElseW(() => {
      throw new Error(`a row does not match ${codec.name}: ${JSON.stringify(row)}`)
    }),
  )
}
