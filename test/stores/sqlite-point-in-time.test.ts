import Sqlite from 'better-sqlite3'
import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { join } from 'node:path'
import { createReads } from '../../src/projections/reads'
import { runAudit } from '../../src/projections/audit-run'
import { openDatabase, openSqliteStore } from '../../src/stores/sqlite'
import { migrate, migrations } from '../../src/stores/sqlite/schema'
import { timedStore } from '../../src/stores/timed'
import type { StoreCall } from '../../src/events/store'
import { balanceAtSql } from '../../src/stores/sqlite/sql/read-balance-at'
import { balanceAtWithHoldsSql } from '../../src/stores/sqlite/sql/read-balance-with-holds'
import { holdsAtSql } from '../../src/stores/sqlite/sql/read-holds'
import { tempDir, type TempDir } from '../support/sqlite'
import { amount, userId } from '../support/values'
import { balanceAfterSuite, type LogRow } from './balance-after'

const rowsOf = (path: string, user: number): LogRow[] => {
  const db = new Sqlite(path, { readonly: true })
  try {
    return db
      .prepare('SELECT version, time_millis AS timeMillis, balance_after AS balanceAfter FROM events WHERE user_id = ? ORDER BY version')
      .all(user) as LogRow[]
  } finally {
    db.close()
  }
}

balanceAfterSuite('sqlite', async () => {
  const dir = await tempDir()
  const path = join(dir.path, 'points.db')
  const store = openSqliteStore(path)
  return {
    store,
    rows: (user) => Promise.resolve(rowsOf(path, user)),
    dispose: async () => {
      await store.close()
      await dir.remove()
    },
  }
})

describe('sqlite point-in-time read', function () {
  let dir: TempDir
  let path: string
  beforeEach(async function () {
    dir = await tempDir()
    path = join(dir.path, 'points.db')
  })
  afterEach(async function () {
    await dir.remove()
  })

  it('is a binary search of events_by_user_version: each step one indexed lookup, no scan of the log, no sort', function () {
    const db = openDatabase(path)
    try {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${balanceAtSql}`).all({ userId: 1, at: 1_000 }) as { detail: string }[]).map((row) => row.detail)
      expect(plan.filter((step) => step.startsWith('SEARCH'))).to.deep.equal([
        'SEARCH events USING INDEX events_by_user_version (user_id=? AND version=?)',
        'SEARCH events USING COVERING INDEX events_by_user_version (user_id=?)',
        'SEARCH e USING INDEX events_by_user_version (user_id=? AND version=?)',
      ])
      // The only scans are of the search's own steps, a few dozen rows at most.
      expect(plan.filter((step) => /SCAN|TEMP B-TREE/.test(step))).to.deep.equal(['SCAN CONSTANT ROW', 'SCAN s', 'SCAN search'])
    } finally {
      db.close()
    }
  })

  it('finds the last event at or before each moment, with times repeated and a user without events', function () {
    const db = openDatabase(path)
    try {
      const insert = db.prepare("INSERT INTO events (user_id, version, type, amount, time_millis, balance_after) VALUES (?, ?, 'CHARGE', 1, ?, ?)")
      ;[10, 10, 20, 30, 30, 30, 40].forEach((time, i) => insert.run(1, i + 1, time, i + 1))
      // Another user's events between them must not count.
      ;[15, 25, 35].forEach((time, i) => insert.run(2, i + 1, time, 100 + i))
      const at = db.prepare<{ userId: number; at: number }, { point: number; updateMillis: number } | undefined>(balanceAtSql)
      const found = [0, 9, 10, 15, 20, 29, 30, 35, 40, 1_000].map((moment) => at.get({ userId: 1, at: moment }))
      expect(found.map((row) => row && [row.point, row.updateMillis])).to.deep.equal([
        undefined, undefined, [2, 10], [2, 10], [3, 20], [3, 20], [6, 30], [6, 30], [7, 40], [7, 40],
      ])
      expect(at.get({ userId: 3, at: 1_000 })).to.equal(undefined)
    } finally {
      db.close()
    }
  })

  it('drops the time index at step 8, from a log written at step 7, and the read still answers from it', function () {
    const old = new Sqlite(path)
    migrate(old, migrations.filter((step) => step.version <= 7))
    old.prepare("INSERT INTO events (user_id, version, type, amount, time_millis, balance_after) VALUES (1, 1, 'CHARGE', 5, 10, 5)").run()
    // The row that release kept beside it, which step 9 checks against the event before it drops the table.
    old.prepare('INSERT INTO balances (user_id, point, version, update_millis) VALUES (1, 5, 1, 10)').run()
    old.close()
    const db = openDatabase(path)
    try {
      expect(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name = 'events_by_user_time'").all()).to.deep.equal([])
      expect(db.prepare(balanceAtSql).get({ userId: 1, at: 10 })).to.deep.equal({ id: 1, point: 5, updateMillis: 10 })
    } finally {
      db.close()
    }
  })

  it('reads the holds active at that moment through events_by_ref only: not the user\'s whole history up to it', function () {
    const db = openDatabase(path)
    try {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${holdsAtSql}`).all({ userId: 1, at: 1_000 }) as { detail: string }[]).map((row) => row.detail)
      expect(plan).to.deep.equal([
        'SEARCH h USING INDEX events_by_ref (user_id=? AND ref>?)',
        'CORRELATED SCALAR SUBQUERY 1',
        'SEARCH r USING INDEX events_by_ref (user_id=? AND ref=?)',
      ])
      // Read with the balance in one statement, each part keeps its plan, and nothing scans the log.
      const both = (db.prepare(`EXPLAIN QUERY PLAN ${balanceAtWithHoldsSql}`).all({ userId: 1, at: 1_000 }) as { detail: string }[]).map((row) => row.detail)
      expect(both).to.include.members([
        'SEARCH e USING INDEX events_by_user_version (user_id=? AND version=?)',
        'SEARCH h USING INDEX events_by_ref (user_id=? AND ref>?)',
        'SEARCH r USING INDEX events_by_ref (user_id=? AND ref=?)',
      ])
      expect(both.filter((step) => /SCAN (events|h |r )/.test(step))).to.deep.equal([])
    } finally {
      db.close()
    }
  })

  it('is looked up through the timed store the service wraps it in, never folded from the history', async function () {
    const calls: StoreCall[] = []
    const store = timedStore(openSqliteStore(path), (call) => calls.push(call))
    try {
      await store.append(userId(1), 0, { events: [{ type: 'CHARGE', userId: userId(1), amount: amount(5), timeMillis: 10 }], projection: { balance: 5, version: 1 }, receipts: [] })()
      expect(await createReads(store).balanceAt(userId(1), 10)()).to.deep.equal(E.right({ id: 1, point: 5, held: 0, available: 5, updateMillis: 10 }))
      expect(E.map((b: { point: number; held: number }) => [b.point, b.held])(await createReads(store).balance(userId(1))())).to.deep.equal(E.right([5, 0]))
      // The balance and its holds are one read each time, counted under the name of the read it stands in for.
      expect(calls).to.deep.equal(['append', 'balanceAt', 'balance'])
    } finally {
      await store.close()
    }
  })

  it('migrates a log written at step 2: each event gets its running balance, NOT NULL, and the audit agrees', async function () {
    const old = new Sqlite(path)
    migrate(old, migrations.filter((step) => step.version <= 2))
    const insert = old.prepare('INSERT INTO events (user_id, version, type, amount, time_millis) VALUES (?, ?, ?, ?, ?)')
    // Two users' events interleaved, as a busy log holds them.
    const log: Array<[number, number, string, number, number]> = [
      [1, 1, 'CHARGE', 100, 10],
      [2, 1, 'CHARGE', 40, 11],
      [1, 2, 'USE', 30, 20],
      [1, 3, 'CHARGE', 5, 20],
      [2, 2, 'USE', 40, 21],
      [1, 4, 'USE', 75, 30],
    ]
    for (const row of log) insert.run(...row)
    old.prepare('INSERT INTO balances (user_id, point, version, update_millis) VALUES (?, ?, ?, ?)').run(1, 0, 4, 30)
    old.prepare('INSERT INTO balances (user_id, point, version, update_millis) VALUES (?, ?, ?, ?)').run(2, 0, 2, 21)
    const ids = old.prepare('SELECT id FROM events ORDER BY id').pluck().all()
    old.close()

    const store = openSqliteStore(path)
    try {
      const db = new Sqlite(path, { readonly: true })
      try {
        expect(db.pragma('user_version', { simple: true })).to.equal(migrations.at(-1)?.version)
        const column = (db.pragma('table_info(events)') as Array<{ name: string; notnull: number }>).find((c) => c.name === 'balance_after')
        expect(column?.notnull).to.equal(1)
        expect(db.prepare('SELECT id FROM events ORDER BY id').pluck().all(), 'ids are kept').to.deep.equal(ids)
      } finally {
        db.close()
      }
      expect(rowsOf(path, 1).map((r) => r.balanceAfter)).to.deep.equal([100, 70, 75, 0])
      expect(rowsOf(path, 2).map((r) => r.balanceAfter)).to.deep.equal([40, 0])
      expect(await createReads(store).balanceAt(userId(1), 25)()).to.deep.equal(E.right({ id: 1, point: 75, held: 0, available: 75, updateMillis: 20 }))
      const report = await runAudit(store, { maxAmount: 1_000, maxBalance: 10_000 })()
      expect(E.map((r: { findings: readonly unknown[]; events: number }) => [r.events, r.findings])(report)).to.deep.equal(E.right([6, []]))
    } finally {
      await store.close()
    }
  })
})
