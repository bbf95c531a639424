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

  it('is one backward scan of events_by_user_time, stopped at the first row: no sort, no scan of the log', async function () {
    await migratePostgres(pool)
    // Enough users and events that the planner would rather not read the table, and statistics to say so.
    await pool.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after)
      SELECT u, v, 'CHARGE', 1, v * 10, v FROM generate_series(1, 200) AS u, generate_series(1, 200) AS v`)
    await pool.query('ANALYZE events')
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${balanceAtSql}`, [7, 1_005])
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n')
    expect(plan).to.match(/^Limit/).and.match(/Index Scan Backward using events_by_user_time on events/)
    expect(plan).not.to.match(/Sort|Seq Scan|Bitmap/)
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
    const together = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${balanceAtWithHoldsSql}`, [7, 500_000])
    const both = together.rows.map((r) => r['QUERY PLAN']).join('\n')
    expect(both).to.match(/Index Scan Backward using events_by_user_time on events/).and.match(/using events_by_ref on events h/).and.match(/using events_by_ref on events r/)
    expect(both).not.to.match(/Seq Scan|Bitmap/)
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
