import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import * as t from 'io-ts'
import pg, { type Pool, type PoolClient } from 'pg'
import { initialState, type PointState } from '../events/decider'
import { IdempotencyKey, RejectionCode, StoredEvent, UserId, UserPoint, type Amount, type PointEvent } from '../events/model'
import {
  attempt,
  storeUnavailable,
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
import { migratePostgres } from './postgres-schema'

export interface PostgresStoreOptions {
  /** Connections this instance may hold; each in-flight batch or read takes one. */
  readonly poolSize?: number
  /** How long a request waits for a connection before it is answered as a fault. */
  readonly connectTimeoutMillis?: number
  /** Longest a statement may run, lock waits included, before it is cancelled and answered as a fault; 0: no limit. */
  readonly statementTimeoutMillis?: number
  readonly clock?: () => number
  /** Called with each pool error that no request was waiting on (an idle connection dropped). */
  readonly onIdleError?: (error: Error) => void
  /** Called after each committed transaction: how many appends it held, how long it took. */
  readonly onCommit?: (commit: { readonly appends: number; readonly millis: number }) => void
}

interface AppendJob {
  readonly userId: UserId
  readonly events: readonly PointEvent[]
  readonly expectedVersion: number
  readonly projection: PointState
  readonly receipts: readonly NewReceipt[]
}

type Appended = E.Either<StoreFault, UserPoint>

// BIGINT columns come back as strings by default; every value stored here is a safe integer.
const types = new pg.TypeOverrides()
types.setTypeParser(pg.types.builtins.INT8, Number)

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
 * The event log and balance projection on PostgreSQL, shared by any number of
 * instances. Appends are optimistic: a batch member whose user moved past its
 * expected version is refused as a `VersionConflict` and the writer re-decides.
 * The appends submitted in one event-loop turn, across users, share one transaction;
 * each member runs in a savepoint, so one member's refusal leaves the others be.
 */
export class PostgresStore implements PointStore, AuditSource {
  private readonly pool: Pool
  private readonly clock: () => number
  private readonly onCommit: NonNullable<PostgresStoreOptions['onCommit']>
  private readonly url: string
  private readonly connectTimeoutMillis: number
  private migrated: Promise<E.Either<StoreFault, void>> | undefined
  private waiting: { job: AppendJob; resolve: (result: Appended) => void }[] = []
  private scheduled = false

  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.clock = options.clock ?? Date.now
    this.onCommit = options.onCommit ?? (() => undefined)
    this.url = url
    this.connectTimeoutMillis = options.connectTimeoutMillis ?? 2_000
    const statementTimeout = options.statementTimeoutMillis ?? 5_000
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: this.connectTimeoutMillis,
      // The server cancels a statement that runs too long, a wait for a row lock included; the connection stays
      // usable. A server that stops answering altogether is caught here a second later: that query fails and
      // its connection is thrown away, instead of the command hanging until TCP gives up, minutes later.
      ...(statementTimeout > 0 && { statement_timeout: statementTimeout, query_timeout: statementTimeout + 1_000 }),
      // A host that vanishes without closing its connections is probed after 10 s idle, not the OS's 2 hours;
      // the OS's probe interval and count still decide when the connection is declared dead.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      types,
    })
    // Without a listener, an idle connection dropped by the server would crash the process.
    // The pool discards that client itself; the next request opens a new one.
    this.pool.on('error', options.onIdleError ?? (() => undefined))
  }

  /** Applies pending migrations once; a failed attempt is tried again by the next call. */
  ready(): Promise<E.Either<StoreFault, void>> {
    this.migrated ??= attempt(() => this.migrate())().then((result) => {
      if (E.isLeft(result)) this.migrated = undefined
      return result
    })
    return this.migrated
  }

  /** On a pool of its own, without the timeouts: an instance may wait for another's migration to finish. */
  private async migrate(): Promise<void> {
    const pool = new pg.Pool({ connectionString: this.url, max: 1, connectionTimeoutMillis: this.connectTimeoutMillis })
    pool.on('error', () => undefined)
    try {
      await migratePostgres(pool)
    } finally {
      await pool.end()
    }
  }

  load(userId: UserId): TE.TaskEither<StoreFault, PointState> {
    return this.read('load', 'SELECT point AS balance, version FROM balances WHERE user_id = $1', [userId], (rows) =>
      rows.length === 0 ? initialState : decodeRow(StateRow, rows[0]),
    )
  }

  append(
    userId: UserId,
    events: readonly PointEvent[],
    expectedVersion: number,
    projection: PointState,
    receipts: readonly NewReceipt[] = [],
  ): TE.TaskEither<StoreFault, UserPoint> {
    const job: AppendJob = { userId, events, expectedVersion, projection, receipts }
    return () =>
      new Promise((resolve) => {
        this.waiting.push({ job, resolve })
        if (!this.scheduled) {
          this.scheduled = true
          setImmediate(() => void this.flush())
        }
      })
  }

  /**
   * Its own transaction, outside group commit: a writer uses it from its first lost race until it goes idle.
   * `FOR UPDATE` makes a rival's claim wait until this commits; a user with no row yet has nothing to lock, and
   * a rival inserting it first is reported as a conflict, after which the row exists.
   */
  appendLocked(userId: UserId, plan: (state: PointState) => Plan): TE.TaskEither<StoreFault, UserPoint> {
    return async () => {
      const usable = await this.usable()
      if (E.isLeft(usable)) return usable
      const began = performance.now()
      const updateMillis = this.clock()
      let result: Appended | undefined
      try {
        await this.transaction(async (client) => {
          const { rows } = await client.query({
            name: 'load-locked',
            text: 'SELECT point AS balance, version FROM balances WHERE user_id = $1 FOR UPDATE',
            values: [userId],
          })
          const state = rows.length === 0 ? initialState : decodeRow(StateRow, rows[0])
          const { events, projection, receipts } = plan(state)
          const job = { userId, events, expectedVersion: state.version, projection, receipts }
          result =
            events.length === 0 && receipts.length === 0
              ? E.right({ id: userId, point: state.balance, updateMillis })
              : await this.member(client, job, updateMillis, true)
        })
      } catch (error) {
        return E.left(storeUnavailable(error))
      }
      this.onCommit({ appends: 1, millis: performance.now() - began })
      return result ?? E.left(storeUnavailable(new Error('the locked transaction ended without a result')))
    }
  }

  balance(userId: UserId): TE.TaskEither<StoreFault, UserPoint> {
    return this.read(
      'balance',
      'SELECT user_id AS id, point, update_millis AS "updateMillis" FROM balances WHERE user_id = $1',
      [userId],
      (rows) => (rows.length === 0 ? { id: userId, point: 0, updateMillis: this.clock() } : decodeRow(UserPoint, rows[0])),
    )
  }

  receipts(keys: readonly IdempotencyKey[]): TE.TaskEither<StoreFault, Receipt[]> {
    return this.read(
      'receipts',
      `SELECT key, user_id AS "userId", fingerprint, outcome, update_millis AS "updateMillis"
       FROM receipts WHERE key = ANY($1::text[])`,
      [keys],
      (rows) => rows.map(toReceipt),
    )
  }

  history(userId: UserId, query: HistoryQuery = {}): TE.TaskEither<StoreFault, StoredEvent[]> {
    const { after = 0, until = Number.MAX_SAFE_INTEGER, limit = null } = query
    return this.read(
      'history',
      `SELECT id, user_id AS "userId", type, amount, time_millis AS "timeMillis"
       FROM events WHERE user_id = $1 AND id > $2 AND time_millis <= $3
       ORDER BY version LIMIT $4`,
      [userId, after, until, limit],
      (rows) => rows.map((row) => decodeRow(StoredEvent, row)),
    )
  }

  async *scanEvents(userId?: UserId): AsyncGenerator<LogEntry[]> {
    type Row = { id: number; user_id: UserId; version: number; signed: number }
    for (let after = 0; ; ) {
      const { rows } = await this.pool.query<Row>(
        `SELECT id, user_id, version, CASE WHEN type = 'CHARGE' THEN amount ELSE -amount END AS signed
         FROM events WHERE ($1::bigint IS NULL OR user_id = $1) AND id > $2 ORDER BY id LIMIT ${scanPage}`,
        [userId ?? null, after],
      )
      if (rows.length === 0) return
      yield rows.map(({ id, user_id, version, signed }) => ({
        id,
        userId: user_id,
        version,
        type: signed > 0 ? 'CHARGE' : 'USE',
        amount: Math.abs(signed) as Amount,
      }))
      after = rows[rows.length - 1]!.id
    }
  }

  async *scanProjections(userId?: UserId): AsyncGenerator<ProjectionRow[]> {
    type Row = { userId: UserId; point: number; version: number }
    for (let after = 0; ; ) {
      const { rows } = await this.pool.query<Row>(
        `SELECT user_id AS "userId", point, version FROM balances
         WHERE ($1::bigint IS NULL OR user_id = $1) AND user_id > $2 ORDER BY user_id LIMIT ${scanPage}`,
        [userId ?? null, after],
      )
      if (rows.length === 0) return
      yield rows
      after = rows[rows.length - 1]!.userId
    }
  }

  async *duplicateKeys(): AsyncGenerator<DuplicateKey> {
    const { rows } = await this.pool.query<DuplicateKey>(
      'SELECT key, count(*)::integer AS count FROM receipts GROUP BY key HAVING count(*) > 1',
    )
    yield* rows
  }

  async rebuild(states: ReadonlyArray<{ userId: UserId; balance: number; version: number }>): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('DELETE FROM balances')
      await client.query(
        `INSERT INTO balances (user_id, point, version, update_millis)
         SELECT u, p, v, $4 FROM unnest($1::bigint[], $2::bigint[], $3::integer[]) AS s(u, p, v)`,
        [states.map((s) => s.userId), states.map((s) => s.balance), states.map((s) => s.version), this.clock()],
      )
    })
  }

  /** Commits what is waiting, then closes every connection. */
  async close(): Promise<void> {
    await this.flush()
    if (!this.pool.ended) await this.pool.end()
  }

  /** A read as a named statement: each connection parses and plans it once, not on every call. */
  private read<R, A>(name: string, text: string, values: unknown[], toResult: (rows: R[]) => A): TE.TaskEither<StoreFault, A> {
    return pipe(
      TE.fromTask(() => this.ready()),
      TE.flatMap(TE.fromEither),
      TE.flatMap(() => attempt(() => this.pool.query({ name, text, values }).then(({ rows }) => toResult(rows as R[])))),
    )
  }

  /** Open and migrated: what a write needs before it takes a connection. */
  private async usable(): Promise<E.Either<StoreFault, void>> {
    return this.pool.ended ? E.left(storeUnavailable(new Error('the store is closed'))) : this.ready()
  }

  /** Runs everything submitted since the last flush as one transaction and answers each caller. */
  private async flush(): Promise<void> {
    const batch = this.waiting
    this.waiting = []
    this.scheduled = false
    if (batch.length === 0) return
    const results = await this.commit(batch.map((w) => w.job))
    batch.forEach((w, i) => w.resolve(results[i]!))
  }

  /** One transaction for all jobs; if it cannot commit, none of them is applied. */
  private async commit(jobs: readonly AppendJob[]): Promise<Appended[]> {
    const usable = await this.usable()
    if (E.isLeft(usable)) return jobs.map(() => usable)
    const started = performance.now()
    const updateMillis = this.clock()
    // Members go in user order, so two instances' batches take the rows' locks in the same order and never deadlock.
    const order = jobs.map((job, i) => ({ job, i })).sort((a, b) => a.job.userId - b.job.userId)
    const results: Appended[] = new Array<Appended>(jobs.length)
    const run = (guarded: boolean) =>
      this.transaction(async (client) => {
        for (const { job, i } of order) results[i] = await this.member(client, job, updateMillis, guarded)
      })
    try {
      const lone = jobs[0]!
      if (jobs.length === 1 && lone.receipts.length === 0 && lone.events.length > 0) results[0] = await this.alone(lone, updateMillis)
      // Savepoints cost two round trips per member: first try without; a statement that fails aborts the
      // transaction, and the batch is written again, each member guarded.
      else await run(false).catch(() => run(true))
    } catch (error) {
      const fault = storeUnavailable(error)
      return jobs.map(() => E.left(fault))
    }
    this.onCommit({ appends: jobs.length, millis: performance.now() - started })
    return results
  }

  private async transaction(work: (client: PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect()
    let broken: Error | undefined
    // Checked out, a client's connection error between two statements is emitted, not thrown: without a
    // listener it would crash the process. The next statement then fails, and the batch with it.
    const onError = (error: Error) => (broken = error)
    client.on('error', onError)
    try {
      await client.query('BEGIN')
      await work(client)
      await client.query('COMMIT')
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error))
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      // A client whose transaction failed may have lost its connection: the pool replaces it.
      client.off('error', onError)
      client.release(broken)
    }
  }

  /** A batch of one append and no receipts is one statement: atomic without a transaction around it. */
  private async alone(job: AppendJob, updateMillis: number): Promise<Appended> {
    try {
      const claimed = await this.claimAndWrite(this.pool, job, updateMillis)
      return claimed ? E.right({ id: job.userId, point: job.projection.balance, updateMillis }) : E.left(versionConflict(job.userId, job.expectedVersion))
    } catch (error) {
      if (isUniqueViolation(error)) return E.left(versionConflict(job.userId, job.expectedVersion))
      return E.left(storeUnavailable(error))
    }
  }

  /**
   * One append inside the shared transaction. Guarded, it runs in its own savepoint, so its failure is its own;
   * unguarded (no receipts, the common case), a failure aborts the transaction and the caller retries guarded.
   */
  private async member(client: PoolClient, job: AppendJob, updateMillis: number, guarded: boolean): Promise<Appended> {
    const accepted = E.right({ id: job.userId, point: job.projection.balance, updateMillis })
    const conflict = E.left(versionConflict(job.userId, job.expectedVersion))
    if (!guarded && job.receipts.length === 0 && job.events.length > 0) {
      return (await this.claimAndWrite(client, job, updateMillis)) ? accepted : conflict
    }
    await client.query('SAVEPOINT member')
    try {
      const claimed = job.events.length > 0 ? await this.claimAndWrite(client, job, updateMillis) : await this.claim(client, job, updateMillis)
      if (!claimed) {
        await client.query('ROLLBACK TO SAVEPOINT member')
        return conflict
      }
      await this.writeReceipts(client, job, updateMillis)
      await client.query('RELEASE SAVEPOINT member')
      return accepted
    } catch (error) {
      // If the connection itself failed, this throws too and the whole batch is a fault.
      await client.query('ROLLBACK TO SAVEPOINT member')
      // Another instance wrote this version or recorded one of these keys first: re-decide after a fresh read.
      if (isUniqueViolation(error)) return conflict
      return E.left(storeUnavailable(error))
    }
  }

  /**
   * Moves the projection row from the expected version to the new one and appends the events, in one
   * statement: the events are inserted only if the row was claimed. The update locks the row until commit,
   * so a rival instance's claim waits, then sees the new version and matches nothing.
   */
  private async claimAndWrite(
    client: Pick<PoolClient, 'query'>,
    { userId, events, expectedVersion, projection }: AppendJob,
    now: number,
  ): Promise<boolean> {
    const claim =
      expectedVersion === 0
        ? `INSERT INTO balances (user_id, point, version, update_millis) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id) DO NOTHING RETURNING 1`
        : `UPDATE balances SET point = $2, version = $3, update_millis = $4
           WHERE user_id = $1 AND version = $5 RETURNING 1`
    const { rows } = await client.query<{ claimed: number }>({
      // Named, so each connection plans this statement once.
      name: expectedVersion === 0 ? 'claim-new-and-write' : 'claim-and-write',
      text: `WITH claimed AS (${claim}),
       appended AS (
         INSERT INTO events (user_id, version, type, amount, time_millis)
         SELECT $1, $5 + e.n, e.type, e.amount, e.time
         FROM unnest($6::text[], $7::bigint[], $8::bigint[]) WITH ORDINALITY AS e(type, amount, time, n)
         WHERE EXISTS (SELECT 1 FROM claimed)
       )
       SELECT count(*)::integer AS claimed FROM claimed`,
      values: [userId, projection.balance, projection.version, now, expectedVersion, events.map((e) => e.type), events.map((e) => e.amount), events.map((e) => e.timeMillis)],
    })
    return rows[0]?.claimed === 1
  }

  /**
   * Moves the projection row from the expected version to the new one, or finds it moved.
   * The update locks the row until commit, so a rival instance's claim waits, then sees the
   * new version and is refused: the check and the write are one step.
   */
  private async claim(client: PoolClient, { userId, events, expectedVersion, projection }: AppendJob, now: number): Promise<boolean> {
    // A batch of keyed rejections only: the row stays as it is, but the version must still hold.
    const next = events.length === 0 ? { balance: null, version: expectedVersion } : projection
    if (expectedVersion === 0 && events.length === 0) {
      const { rowCount } = await client.query('SELECT 1 FROM balances WHERE user_id = $1 FOR SHARE', [userId])
      return rowCount === 0
    }
    const result =
      expectedVersion === 0
        ? await client.query(
            `INSERT INTO balances (user_id, point, version, update_millis) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO NOTHING`,
            [userId, next.balance, next.version, now],
          )
        : await client.query(
            `UPDATE balances SET point = coalesce($2, point), version = $3,
               update_millis = CASE WHEN $2::bigint IS NULL THEN update_millis ELSE $4 END
             WHERE user_id = $1 AND version = $5`,
            [userId, next.balance, next.version, now, expectedVersion],
          )
    return result.rowCount === 1
  }

  private async writeReceipts(client: PoolClient, { userId, receipts }: AppendJob, now: number): Promise<void> {
    if (receipts.length === 0) return
    await client.query(
      `INSERT INTO receipts (key, user_id, fingerprint, outcome, update_millis)
       SELECT k, $1, f, o, $4 FROM unnest($2::text[], $3::text[], $5::jsonb[]) AS r(k, f, o)`,
      [userId, receipts.map((r) => r.key), receipts.map((r) => r.fingerprint), now, receipts.map((r) => JSON.stringify(r.outcome))],
    )
  }
}

const StateRow = t.type({ balance: t.number, version: t.number })

const ReceiptRow = t.type({
  key: IdempotencyKey,
  userId: UserId,
  fingerprint: t.string,
  outcome: t.union([
    t.type({ _tag: t.literal('Accepted'), point: t.number }),
    t.type({ _tag: t.literal('Rejection'), code: RejectionCode, detail: t.string }),
  ]),
  updateMillis: t.number,
})

function toReceipt(row: unknown): Receipt {
  const { outcome, updateMillis, ...rest } = decodeRow(ReceiptRow, row)
  return { ...rest, outcome: outcome._tag === 'Accepted' ? { ...outcome, updateMillis } : outcome }
}

const isUniqueViolation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505'

/** Rows an audit reads per query. */
const scanPage = 16_384

/** Rows are checked on the way out: a table edited by hand must not leak bad values past the store. */
function decodeRow<A>(codec: t.Decoder<unknown, A>, row: unknown): A {
  return pipe(
    codec.decode(row),
    E.getOrElseW(() => {
      throw new Error(`a row does not match ${codec.name}: ${JSON.stringify(row)}`)
    }),
  )
}
