import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { Pool } from 'pg'
import type { PointEvent } from '../../src/events/model'
import { createReads } from '../../src/projections/reads'
import { runAudit } from '../../src/projections/audit-run'
import { openPostgresStore } from '../../src/stores/postgres'
import { migratePostgres, pgMigrations } from '../../src/stores/postgres/schema'
import { balanceAtSql } from '../../src/stores/postgres/sql/read-balance-at'
import { balanceAtWithHoldsSql } from '../../src/stores/postgres/sql/read-balance-with-holds'
import { holdsAtSql } from '../../src/stores/postgres/sql/read-holds'
import { historySql } from '../../src/stores/postgres/sql/read-history'
import { freshDatabase, postgresFixture, type FreshDatabase } from '../support/postgres'
import { amount, userId } from '../support/values'
import { balanceAfterSuite, type LogRow } from './balance-after'

const rowsOf = async (url: string, user: number): Promise<LogRow[]> => {
  const pool = new Pool({ connectionString: url, max: 1 })
  try {
    const { rows } = await pool.query<{ version: number; time: string; balance: string }>(
      'SELECT version, time_millis AS time, balance_after AS balance FROM events WHERE user_id = $1 ORDER BY version',
      [user],
    )
    return rows.map((r) => ({ version: r.version, timeMillis: Number(r.time), balanceAfter: Number(r.balance) }))
  } finally {
    await pool.end()
  }
}

balanceAfterSuite('postgres', async () => {
  const fixture = await postgresFixture()
  return { ...fixture, rows: (user) => rowsOf(fixture.url, user) }
})

describe('postgres point-in-time read', function () {
  this.timeout(30_000)
  let database: FreshDatabase
  let pool: Pool
  beforeEach(async function () {
    database = await freshDatabase()
    pool = new Pool({ connectionString: database.url, max: 1 })
  })
  afterEach(async function () {
    await pool.end()
    await database.drop()
  })

  it('writes the balance after each event on the locked path too', async function () {
    const store = await openPostgresStore(database.url)
    try {
      const charge = (n: number): PointEvent => ({ type: 'CHARGE', userId: userId(1), amount: amount(n), timeMillis: 50 - n })
      const first = await store.appendLocked(userId(1), (state) => ({ events: [charge(10), charge(5)], projection: { balance: state.balance + 15, version: state.version + 2 }, receipts: [] }))()
      const second = await store.appendLocked(userId(1), (state) => ({ events: [charge(1)], projection: { balance: state.balance + 1, version: state.version + 1 }, receipts: [] }))()
      expect([first, second].map(E.isRight)).to.deep.equal([true, true])
      expect(await rowsOf(database.url, 1)).to.deep.equal([
        { version: 1, timeMillis: 40, balanceAfter: 10 },
        { version: 2, timeMillis: 45, balanceAfter: 15 },
        { version: 3, timeMillis: 49, balanceAfter: 16 },
      ])
    } finally {
      await store.close()
    }
  })

  /**
   * The plan PostgreSQL picks for these values, and the generic one a named statement may switch to after a few
   * runs, which cannot see them: both, one after the other, as one text.
   */
  const planOf = async (sql: string, values: unknown[]): Promise<string> => {
    const explain = async () => (await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${sql}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n')
    const custom = await explain()
    await pool.query('SET plan_cache_mode = force_generic_plan')
    try {
      return `${custom}\n${await explain()}`
    } finally {
      await pool.query('RESET plan_cache_mode')
    }
  }

  it('is a binary search of events_by_user_version: each step one indexed lookup, no scan of the log, no sort', async function () {
    await migratePostgres(pool)
    // Enough users and events that the planner would rather not read the table, and statistics to say so.
    await pool.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after)
      SELECT u, v, 'CHARGE', 1, v * 10, v FROM generate_series(1, 200) AS u, generate_series(1, 200) AS v`)
    await pool.query('ANALYZE events')
    const plan = await planOf(balanceAtSql, [7, 1_005])
    // The search's first bound, each of its steps, and the event it ends on: nothing else reads the table.
    const reads = ['Index Scan using events_by_user_version on events', 'Index Only Scan Backward using events_by_user_version on events events_1', 'Index Scan using events_by_user_version on events e']
    expect(plan.match(/[A-Z][\w ]* on events\b.*/g)).to.deep.equal([...reads, ...reads])
    // Each step of the search, in both plans, is one lookup of the middle version for each row of the step before.
    const step = /Nested Loop\n.*WorkTable Scan on search s\n.*Filter: \(low < high\)\n.*Index Scan using events_by_user_version on events e\n.*Index Cond: \(\(user_id = [^)]*\) AND \(version = \(s\.low \+ \(\(\(s\.high - s\.low\) \+ 1\) \/ 2\)\)\)\)/g
    expect(plan.match(step), plan).to.have.length(2)
    expect(plan).not.to.match(/Sort|Seq Scan|Bitmap|Hash/)
  })

  it('reads the history through events_by_user_version in order, without the time index: no sort, no scan of the log', async function () {
    await migratePostgres(pool)
    await pool.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after)
      SELECT u, v, 'CHARGE', 1, v * 10, v FROM generate_series(1, 200) AS u, generate_series(1, 200) AS v`)
    await pool.query('ANALYZE events')
    // The whole history, a page of it, up to a moment (where the time index once won, then sorted), and both.
    for (const [until, limit] of [[Number.MAX_SAFE_INTEGER, null], [Number.MAX_SAFE_INTEGER, 50], [1_005, null], [1_005, 50]]) {
      const plan = await planOf(historySql, [7, 0, until, limit])
      expect(plan.match(/[A-Z][\w ]* on events\b.*/g), plan).to.deep.equal(Array(2).fill('Index Scan using events_by_user_version on events'))
      expect(plan).not.to.match(/Sort|Seq Scan|Bitmap/)
    }
  })

  it('finds the last event at or before each moment, with times repeated, for a user with one event and one without', async function () {
    await migratePostgres(pool)
    const insert = (user: number, times: number[], first: number) =>
      pool.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after)
        SELECT $1, n, 'CHARGE', 1, t, $3 + n FROM unnest($2::bigint[]) WITH ORDINALITY AS e(t, n)`, [user, times, first])
    await insert(1, [10, 10, 20, 30, 30, 30, 40], 0)
    // Another user's events between them must not count.
    await insert(2, [15, 25, 35], 100)
    await insert(3, [50], 200)
    const at = async (user: number, moment: number) => {
      const { rows } = await pool.query<{ point: string; updateMillis: string }>(balanceAtSql, [user, moment])
      return rows.map((row) => [Number(row.point), Number(row.updateMillis)])
    }
    const found = await Promise.all([0, 9, 10, 15, 20, 29, 30, 35, 40, 1_000].map((moment) => at(1, moment)))
    expect(found).to.deep.equal([[], [], [[2, 10]], [[2, 10]], [[3, 20]], [[3, 20]], [[6, 30]], [[6, 30]], [[7, 40]], [[7, 40]]])
    expect(await Promise.all([49, 50].map((moment) => at(3, moment)))).to.deep.equal([[], [[201, 50]]])
    expect(await at(4, 1_000)).to.deep.equal([])
  })

  it('drops the time index at step 8, from a log written at step 7, and the reads still answer from it', async function () {
    await migratePostgres(pool, pgMigrations.filter((step) => step.version <= 7))
    await pool.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after, ref, expires_millis) VALUES
      (1, 1, 'CHARGE', 5, 10, 5, NULL, NULL), (1, 2, 'HOLD', 2, 20, 5, 2, 1000)`)
    await pool.query("INSERT INTO balances (user_id, point, version, update_millis) VALUES (1, 5, 2, 20)")
    const store = await openPostgresStore(database.url)
    try {
      const { rows } = await pool.query("SELECT indexname FROM pg_indexes WHERE tablename = 'events' AND indexname = 'events_by_user_time'")
      expect(rows).to.deep.equal([])
      const reads = createReads(store)
      expect(await reads.balanceAt(userId(1), 15)()).to.deep.equal(E.right({ id: 1, point: 5, held: 0, available: 5, updateMillis: 10 }))
      expect(await reads.balanceAt(userId(1), 25)()).to.deep.equal(E.right({ id: 1, point: 5, held: 2, available: 3, updateMillis: 20 }))
    } finally {
      await store.close()
    }
  })

  it('reads the holds active at that moment through events_by_ref only: not the user\'s whole history up to it', async function () {
    await migratePostgres(pool)
    // One user with a long history of charges and a few holds, one of them released: the shape ?at= must not walk.
    await pool.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after)
      SELECT 7, v, 'CHARGE', 1, v * 10, v FROM generate_series(1, 40000) AS v`)
    await pool.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after, ref, expires_millis)
      SELECT 7, 40000 + n, 'HOLD', 1, 400000 + n, 40000, 40000 + n, 999999999 FROM generate_series(1, 5) AS n`)
    await pool.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after, ref)
      VALUES (7, 40006, 'RELEASE', 1, 400010, 40000, 40001)`)
    await pool.query('ANALYZE events')
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${holdsAtSql}`, [7, 500_000])
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n')
    expect(plan).to.match(/Index Scan using events_by_ref on events h/).and.match(/using events_by_ref on events r/)
    expect(plan).not.to.match(/events_by_user_time|Seq Scan/)
    // Read with the balance in one statement, each part keeps its plan: the holds do not walk the history either.
    const both = await planOf(balanceAtWithHoldsSql, [7, 500_000])
    expect(both).to.match(/Index Scan using events_by_user_version on events e\n/).and.match(/using events_by_ref on events h/).and.match(/using events_by_ref on events r/)
    expect(both).not.to.match(/Seq Scan|Bitmap|Sort/)
  })

  it('migrates a log written at step 2: each event gets its running balance, NOT NULL, and the audit agrees', async function () {
    await migratePostgres(pool, pgMigrations.filter((step) => step.version <= 2))
    await pool.query(`INSERT INTO events (user_id, version, type, amount, time_millis) VALUES
      (1, 1, 'CHARGE', 100, 10), (2, 1, 'CHARGE', 40, 11), (1, 2, 'USE', 30, 20),
      (1, 3, 'CHARGE', 5, 20), (2, 2, 'USE', 40, 21), (1, 4, 'USE', 75, 30)`)
    await pool.query('INSERT INTO balances (user_id, point, version, update_millis) VALUES (1, 0, 4, 30), (2, 0, 2, 21)')

    const store = await openPostgresStore(database.url)
    try {
      const { rows } = await pool.query<{ is_nullable: string }>(
        "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'events' AND column_name = 'balance_after'",
      )
      expect(rows).to.deep.equal([{ is_nullable: 'NO' }])
      expect((await rowsOf(database.url, 1)).map((r) => r.balanceAfter)).to.deep.equal([100, 70, 75, 0])
      expect((await rowsOf(database.url, 2)).map((r) => r.balanceAfter)).to.deep.equal([40, 0])
      expect(await createReads(store).balanceAt(userId(1), 25)()).to.deep.equal(E.right({ id: 1, point: 75, held: 0, available: 75, updateMillis: 20 }))
      const report = await runAudit(store, { maxAmount: 1_000, maxBalance: 10_000 })()
      expect(E.map((r: { findings: readonly unknown[]; events: number }) => [r.events, r.findings])(report)).to.deep.equal(E.right([6, []]))
    } finally {
      await store.close()
    }
  })
})
