import Sqlite from 'better-sqlite3'
import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { join } from 'node:path'
import type { IdempotencyKey, PointEvent } from '../../src/events/model'
import { createLedger } from '../../src/projections/ledger'
import { openDatabase, openSqliteStore, SqliteStore, type SqliteStoreOptions } from '../../src/stores/sqlite'
import { migrate, migrations, type Migration } from '../../src/stores/sqlite/schema'
import { duplicateKeys } from '../../src/stores/sqlite/sql/duplicate-keys'
import { createReads } from '../../src/projections/reads'
import { runAudit, type AuditReport } from '../../src/projections/audit-run'
import { insertEvents } from '../../src/stores/sqlite/sql/insert-events'
import { lastEventSql } from '../../src/stores/sqlite/sql/read-last-event'
import { balanceWithHoldsSql, readBalanceWithHolds } from '../../src/stores/sqlite/sql/read-balance-with-holds'
import { readHistory } from '../../src/stores/sqlite/sql/read-history'
import { sqliteFixture, tempDir, writeDisagreeingStepEight, type TempDir } from '../support/sqlite'
import { amount, userId } from '../support/values'
import { storeContract } from './contract'
import { feedContract } from './feed-contract'
import { groupCommitSuite } from './group-commit'
import { pruningSuite } from './pruning'

storeContract('sqlite (group commit)', (options) => sqliteFixture(options))
storeContract('sqlite (one commit per append)', (options) => sqliteFixture({ ...options, groupCommit: false }))
feedContract('sqlite', () => sqliteFixture())
groupCommitSuite('sqlite', (options) => sqliteFixture(options))
pruningSuite('sqlite', (options) => sqliteFixture(options))

const charge = (user: number, n: number): PointEvent => ({ type: 'CHARGE', userId: userId(user), amount: amount(n), timeMillis: 5 })

const tagOf = (result: E.Either<{ _tag: string }, unknown>): string => (E.isLeft(result) ? result.left._tag : 'Right')

describe('sqlite store', function () {
  let dir: TempDir
  let path: string

  beforeEach(async function () {
    dir = await tempDir()
    path = join(dir.path, 'points.db')
  })
  afterEach(async function () {
    await dir.remove()
  })

  const open = (options: SqliteStoreOptions = {}) => openSqliteStore(path, options)

  describe('file and schema', function () {
    it('runs in WAL mode with a full fsync on every commit', function () {
      const db = openDatabase(path)
      try {
        expect(db.pragma('journal_mode', { simple: true })).to.equal('wal')
        expect(db.pragma('synchronous', { simple: true })).to.equal(2)
      } finally {
        db.close()
      }
    })

    it('applies each migration once: reopening changes neither the schema nor the data', async function () {
      const first = open()
      await first.append(userId(1), 0, { events: [charge(1, 40)], projection: { balance: 40, version: 1 }, receipts: [] })()
      await first.close()

      const db = openDatabase(path)
      try {
        expect(db.pragma('user_version', { simple: true })).to.equal(migrations.at(-1)?.version)
        expect(migrate(db)).to.equal(migrations.at(-1)?.version)
        expect(db.prepare('SELECT count(*) FROM events').pluck().get()).to.equal(1)
      } finally {
        db.close()
      }
    })

    it('applies a step whole or not at all, and picks up from there next time', function () {
      const db = openDatabase(path)
      try {
        const next = (migrations.at(-1)?.version ?? 0) + 1
        const broken: Migration = { version: next, name: 'broken', sql: 'CREATE TABLE extra (x); INSERT INTO nowhere VALUES (1);' }
        expect(() => migrate(db, [...migrations, broken])).to.throw(/nowhere/)
        expect(db.pragma('user_version', { simple: true })).to.equal(next - 1)
        expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'extra'").pluck().get()).to.equal(0)

        const fixed: Migration = { ...broken, sql: 'CREATE TABLE extra (x);' }
        expect(migrate(db, [...migrations, fixed])).to.equal(next)
        expect(migrate(db, [...migrations, fixed])).to.equal(next)
      } finally {
        db.close()
      }
    })

    it('refuses a file written by a newer schema', function () {
      const db = new Sqlite(path)
      db.pragma(`user_version = ${(migrations.at(-1)?.version ?? 0) + 1}`)
      db.close()
      expect(() => openDatabase(path)).to.throw(/schema version/)
    })

    it('keys receipts per user from the step that does so, keeping the receipts recorded before it', async function () {
      const step = migrations.findIndex((m) => m.name.startsWith('receipts keyed per user'))
      expect(step).to.be.greaterThan(0)
      const now = 1_700_000_000_000
      const db = new Sqlite(path)
      migrate(db, migrations.slice(0, step))
      db.prepare('INSERT INTO receipts (key, user_id, fingerprint, outcome, update_millis) VALUES (?, ?, ?, ?, ?)').run(
        'k', 1, 'Charge:1:5', JSON.stringify({ _tag: 'Accepted', point: 5 }), now,
      )
      db.close()

      const store = open({ clock: () => now })
      try {
        const kept = await store.receipts(userId(1), ['k' as IdempotencyKey])()
        expect(kept).to.deep.equal(E.right([{ key: 'k', userId: 1, fingerprint: 'Charge:1:5', outcome: { _tag: 'Accepted', point: 5, updateMillis: now } }]))
        const theirs = { key: 'k' as IdempotencyKey, userId: userId(2), fingerprint: 'Charge:2:5', outcome: { _tag: 'Accepted' as const, point: 5 } }
        const other = await store.append(userId(2), 0, { events: [charge(2, 5)], projection: { balance: 5, version: 1 }, receipts: [theirs] })()
        expect(tagOf(other)).to.equal('Right')
      } finally {
        await store.close()
      }
    })

    it('finds, for the audit, a (user, key) recorded twice, and not one key used by two users', function () {
      const db = openDatabase(path)
      try {
        // A schema changed by hand: the table's key gone, so nothing stops duplicates (nor could the store open).
        db.exec('CREATE TABLE loose AS SELECT * FROM receipts; DROP TABLE receipts; ALTER TABLE loose RENAME TO receipts;')
        const insert = db.prepare("INSERT INTO receipts (key, user_id, fingerprint, outcome, update_millis) VALUES (?, ?, 'f', '{}', 1)")
        for (const [key, user] of [['twice', 1], ['twice', 1], ['shared', 1], ['shared', 2]] as const) insert.run(key, user)
        expect(duplicateKeys(db)()).to.deep.equal([{ userId: 1, key: 'twice', count: 2 }])
      } finally {
        db.close()
      }
    })

    it('prunes receipts through the index on their time', function () {
      const db = openDatabase(path)
      try {
        const plan = db
          .prepare('EXPLAIN QUERY PLAN SELECT user_id, key FROM receipts WHERE update_millis <= ? ORDER BY update_millis LIMIT ?')
          .all(1, 10) as { detail: string }[]
        expect(plan.map((row) => row.detail).join(' ')).to.match(/USING (COVERING )?INDEX receipts_by_time/)
      } finally {
        db.close()
      }
    })

    it('reads a user history through the (user, version) index', function () {
      const db = openDatabase(path)
      try {
        const plan = db
          .prepare('EXPLAIN QUERY PLAN SELECT * FROM events WHERE user_id = ? ORDER BY version')
          .all(1) as { detail: string }[]
        expect(plan.map((row) => row.detail).join(' ')).to.match(/USING INDEX events_by_user_version/)
      } finally {
        db.close()
      }
    })
  })

  it('keeps the log and the projection across close and reopen', async function () {
    const first = open()
    await first.append(userId(1), 0, { events: [charge(1, 100), charge(1, 20)], projection: { balance: 120, version: 2 }, receipts: [] })()
    await first.append(userId(2), 0, { events: [charge(2, 7)], projection: { balance: 7, version: 1 }, receipts: [] })()
    const before = await first.history(userId(1))()
    await first.close()

    const second = open()
    try {
      expect(await second.load(userId(1))()).to.deep.equal(E.right({ balance: 120, version: 2 }))
      expect(await second.history(userId(1))()).to.deep.equal(before)
      const balance = await second.balance(userId(2))()
      expect(E.isRight(balance) && balance.right.point).to.equal(7)
    } finally {
      await second.close()
    }
  })

  it('recognises a retried keyed command after a restart, whether it was accepted or refused', async function () {
    const limits = { maxAmount: 1_000, maxBalance: 10_000 }
    const key = (k: string) => k as IdempotencyKey
    const first = open()
    const before = createLedger({ store: first, limits })
    const charged = await before.charge(userId(1), amount(100), key('retry-charge'))()
    const refused = await before.use(userId(1), amount(500), key('retry-use'))()
    await first.close()

    const second = open()
    try {
      const after = createLedger({ store: second, limits })
      expect(await after.charge(userId(1), amount(100), key('retry-charge'))()).to.deep.equal(
        E.map((point: object) => ({ ...point, replayed: true }))(charged),
      )
      expect(await after.use(userId(1), amount(500), key('retry-use'))()).to.deep.equal(
        E.mapLeft((rejection: object) => ({ ...rejection, replayed: true }))(refused),
      )
      expect(E.map((events: unknown[]) => events.length)(await second.history(userId(1))())).to.deep.equal(E.right(1))
    } finally {
      await second.close()
    }
  })

  describe('group commit', function () {
    it('commits the appends of one event-loop turn, across users, in one transaction', async function () {
      const commits: number[] = []
      const store = open({ onCommit: (c) => commits.push(c.appends) })
      try {
        const users = [1, 2, 3, 4, 5, 6, 7, 8]
        const results = await Promise.all(users.map((u) => store.append(userId(u), 0, { events: [charge(u, u)], projection: { balance: u, version: 1 }, receipts: [] })()))
        expect(results.map(tagOf)).to.deep.equal(users.map(() => 'Right'))
        expect(commits).to.deep.equal([users.length])

        await store.append(userId(1), 1, { events: [charge(1, 1)], projection: { balance: 2, version: 2 }, receipts: [] })()
        expect(commits).to.deep.equal([users.length, 1])
      } finally {
        await store.close()
      }
    })

    it('commits once per append when group commit is off', async function () {
      const commits: number[] = []
      const store = open({ groupCommit: false, onCommit: (c) => commits.push(c.appends) })
      try {
        await Promise.all([1, 2, 3].map((u) => store.append(userId(u), 0, { events: [charge(u, u)], projection: { balance: u, version: 1 }, receipts: [] })()))
        expect(commits).to.deep.equal([1, 1, 1])
      } finally {
        await store.close()
      }
    })

    it('answers a caller only once its transaction is committed and visible to other connections', async function () {
      const store = open()
      const reader = new Sqlite(path, { readonly: true })
      try {
        const count = reader.prepare('SELECT count(*) FROM events WHERE user_id = ?').pluck()
        const seen = await Promise.all(
          [1, 2, 3].map((u) =>
            store.append(userId(u), 0, { events: [charge(u, u)], projection: { balance: u, version: 1 }, receipts: [] })().then(() => count.get(u)),
          ),
        )
        expect(seen).to.deep.equal([1, 1, 1])
      } finally {
        reader.close()
        await store.close()
      }
    })

    it('fails every member, writing nothing, when the transaction cannot start, and recovers after', async function () {
      const store = new SqliteStore(openDatabase(path, { busyTimeoutMillis: 20 }))
      const locker = new Sqlite(path)
      try {
        locker.exec('BEGIN IMMEDIATE')
        const locked = await Promise.all([1, 2].map((u) => store.append(userId(u), 0, { events: [charge(u, u)], projection: { balance: u, version: 1 }, receipts: [] })()))
        expect(locked.map(tagOf)).to.deep.equal(['StoreUnavailable', 'StoreUnavailable'])
        locker.exec('ROLLBACK')

        expect(await store.history(userId(1))()).to.deep.equal(E.right([]))
        const retried = await Promise.all([1, 2].map((u) => store.append(userId(u), 0, { events: [charge(u, u)], projection: { balance: u, version: 1 }, receipts: [] })()))
        expect(retried.map(tagOf)).to.deep.equal(['Right', 'Right'])
      } finally {
        locker.close()
        await store.close()
      }
    })

    it('fails every member, writing nothing, when the disk fills mid-batch, and recovers once there is room', async function () {
      const db = openDatabase(path)
      const store = new SqliteStore(db)
      try {
        const pages = db.pragma('page_count', { simple: true }) as number
        db.pragma(`max_page_count = ${pages}`)
        const many = Array.from({ length: 2_000 }, () => charge(2, 1))
        const full = await Promise.all([
          store.append(userId(1), 0, { events: [charge(1, 1)], projection: { balance: 1, version: 1 }, receipts: [] })(),
          store.append(userId(2), 0, { events: many, projection: { balance: many.length, version: many.length }, receipts: [] })(),
        ])
        expect(full.map(tagOf)).to.deep.equal(['StoreUnavailable', 'StoreUnavailable'])
        expect(await store.history(userId(1))()).to.deep.equal(E.right([]))
        expect(await store.history(userId(2))()).to.deep.equal(E.right([]))

        db.pragma('max_page_count = 1000000')
        const retried = await store.append(userId(2), 0, { events: many, projection: { balance: many.length, version: many.length }, receipts: [] })()
        expect(tagOf(retried)).to.equal('Right')
      } finally {
        await store.close()
      }
    })

    it('is not ready after a commit failed on a full disk, until a write probe finds room again', async function () {
      const db = openDatabase(path)
      const store = new SqliteStore(db)
      try {
        const many = Array.from({ length: 2_000 }, () => charge(2, 1))
        const plan = { events: many, projection: { balance: many.length, version: many.length }, receipts: [] }
        expect(tagOf(await store.readiness()())).to.equal('Right')
        // The migrations leave a dropped index's pages free, room the probe would rightly find: none is left.
        db.exec('VACUUM')
        db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`)
        expect(tagOf(await store.append(userId(2), 0, plan)())).to.equal('StoreUnavailable')
        const unready = await store.readiness()()
        expect(E.isLeft(unready) && unready.left._tag === 'StoreUnavailable' && unready.left.cause).to.include({ code: 'SQLITE_FULL' })
        expect(tagOf(await store.readiness()()), 'still full').to.equal('StoreUnavailable')

        db.pragma('max_page_count = 1000000')
        expect(tagOf(await store.readiness()())).to.equal('Right')
        expect(tagOf(await store.append(userId(2), 0, plan)())).to.equal('Right')
      } finally {
        await store.close()
      }
    })

    it('on a file SQLite could only open read-only, fails appends as faults and still serves reads', async function () {
      const writable = open()
      await writable.append(userId(1), 0, { events: [charge(1, 3)], projection: { balance: 3, version: 1 }, receipts: [] })()
      await writable.close()

      const store = new SqliteStore(new Sqlite(path, { readonly: true }))
      try {
        const refused = await store.append(userId(1), 1, { events: [charge(1, 4)], projection: { balance: 7, version: 2 }, receipts: [] })()
        expect(E.isLeft(refused) && refused.left._tag === 'StoreUnavailable' && refused.left.cause).to.include({ code: 'SQLITE_READONLY' })
        expect(await store.load(userId(1))()).to.deep.equal(E.right({ balance: 3, version: 1 }))
      } finally {
        await store.close()
      }
    })

    it('answers appends made after close with a fault instead of throwing', async function () {
      const store = open()
      await store.close()
      const result = await store.append(userId(1), 0, { events: [charge(1, 1)], projection: { balance: 1, version: 1 }, receipts: [] })()
      expect(tagOf(result)).to.equal('StoreUnavailable')
      expect(tagOf(await store.load(userId(1))())).to.equal('StoreUnavailable')
    })
  })

  describe('sqlite balances from the last event', function () {
    const lastEvent = (user: number) => {
      const db = new Sqlite(path, { readonly: true })
      try {
        return db.prepare('SELECT balance_after AS point, time_millis AS updateMillis FROM events WHERE user_id = ? ORDER BY version DESC LIMIT 1').get(user)
      } finally {
        db.close()
      }
    }

    it('reads a balance, the writer\'s state and an append\'s check with one statement, through events_by_user_version backwards: one entry, no scan, no sort', function () {
      const db = openDatabase(path)
      try {
        const plan = (sql: string, params: unknown = { userId: 1 }) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((row) => row.detail)
        const backwards = ['SEARCH events USING INDEX events_by_user_version (user_id=?)']
        // The balance, the writer's state and the append's check.
        expect(plan(lastEventSql)).to.deep.equal(backwards)
        // With its holds, in one statement: the sort is of the user's holds alone, for the JSON array's order.
        expect(plan(balanceWithHoldsSql)).to.deep.equal([
          'CO-ROUTINE b',
          'SEARCH events USING INDEX events_by_user_version (user_id=?)',
          'SCAN b',
          'SCALAR SUBQUERY 2',
          'USE TEMP B-TREE FOR json_group_array(ORDER BY)',
          'SEARCH holds USING PRIMARY KEY (user_id=?)',
        ])
      } finally {
        db.close()
      }
    })

    it("answers the last event's balance and time after charges, uses, holds, captures, refunds, releases and a keyed rejection", async function () {
      let now = 1_000
      // The commit's clock runs ahead of the decision's: the answer's time is the event's, as `?at=` gives it.
      const store = openSqliteStore(path, { clock: () => now + 5 })
      try {
        const ledger = createLedger({ store, limits: { maxAmount: 1_000, maxBalance: 10_000 }, clock: () => now })
        const user = userId(1)
        const steps: Array<[string, () => Promise<E.Either<unknown, unknown>>, { point: number; held: number; updateMillis: number }]> = [
          ['charge 100', ledger.charge(user, amount(100)), { point: 100, held: 0, updateMillis: 1_000 }],
          ['use 30 (event 2)', ledger.use(user, amount(30)), { point: 70, held: 0, updateMillis: 1_010 }],
          ['hold 20 (hold 3)', ledger.hold(user, amount(20), 60_000), { point: 70, held: 20, updateMillis: 1_020 }],
          ['capture 15 of hold 3', ledger.capture(user, 3, amount(15)), { point: 55, held: 0, updateMillis: 1_030 }],
          ['refund 10 of event 2', ledger.refund(user, 2, amount(10)), { point: 65, held: 0, updateMillis: 1_040 }],
          ['hold 5 (hold 6)', ledger.hold(user, amount(5), 60_000), { point: 65, held: 5, updateMillis: 1_050 }],
          ['release hold 6', ledger.release(user, 6), { point: 65, held: 0, updateMillis: 1_060 }],
        ]
        for (const [name, step, expected] of steps) {
          expect(E.isRight(await step()), name).to.equal(true)
          expect(await createReads(store, () => now).balance(user)(), name).to.deep.equal(E.right({ id: 1, ...expected, available: expected.point - expected.held }))
          expect(lastEvent(1), name).to.deep.equal({ point: expected.point, updateMillis: expected.updateMillis })
          now += 10
        }
        // A keyed rejection records its receipt and no event: the balance, and its time, stay the last event's.
        expect(E.isLeft(await ledger.use(user, amount(1_000), 'k' as IdempotencyKey)())).to.equal(true)
        expect(await store.balance(user)()).to.deep.equal(E.right({ id: 1, point: 65, updateMillis: 1_060 }))
        expect(await store.balanceAt(user, Number.MAX_SAFE_INTEGER)()).to.deep.equal(E.right({ id: 1, point: 65, updateMillis: 1_060 }))
        expect(await store.load(user)()).to.deep.equal(E.right({ balance: 65, version: 7 }))
      } finally {
        await store.close()
      }
    })

    it('drops the balance projection at step 9, from a file written at step 8: balances, ?at= and histories answer as before', async function () {
      const old = new Sqlite(path)
      migrate(old, migrations.filter((step) => step.version <= 8))
      const insert = insertEvents(old)
      const event = (user: number, type: PointEvent['type'], n: number, timeMillis: number, more: { ref?: number; expiresAt?: number } = {}): PointEvent =>
        ({ type, userId: userId(user), amount: amount(n), timeMillis, ...more })
      const append = (user: number, version: number, events: PointEvent[], balance: number) =>
        insert(userId(user), version, { events, projection: { balance, version: version + events.length }, receipts: [] })
      // Two users interleaved, as a busy log holds them; ids 1–2, 3, 4–7, 8.
      append(1, 0, [event(1, 'CHARGE', 100, 10), event(1, 'USE', 30, 20)], 70)
      append(2, 0, [event(2, 'CHARGE', 40, 15)], 40)
      append(1, 2, [event(1, 'HOLD', 20, 30, { ref: 3, expiresAt: 10_000 }), event(1, 'CAPTURE', 15, 40, { ref: 3 }), event(1, 'REFUND', 10, 50, { ref: 2 }), event(1, 'HOLD', 5, 60, { ref: 6, expiresAt: 10_000 })], 65)
      append(2, 1, [event(2, 'USE', 40, 25)], 0)
      // The rows step 8's store kept, stamped by its commit's clock a little after each last event.
      const project = old.prepare('INSERT INTO balances (user_id, point, version, update_millis) VALUES (?, ?, ?, ?)')
      project.run(1, 65, 6, 63)
      project.run(2, 0, 2, 27)
      const moments = [0, 10, 19, 20, 35, 40, 55, 60, 1_000]
      const answers = (db: Sqlite.Database) => {
        const history = readHistory(db)
        const at = readBalanceWithHolds(db)
        return [1, 2, 3].map((user) => ({
          history: history({ userId: userId(user), after: 0, until: Number.MAX_SAFE_INTEGER, limit: -1 }),
          at: moments.map((moment) => at(userId(user), moment)),
        }))
      }
      const before = answers(old)
      expect(before[0]?.history.map((row) => (row as { type: string }).type), 'holds move nothing and are not listed').to.deep.equal(['CHARGE', 'USE', 'CAPTURE', 'REFUND'])
      expect(before[0]?.at.at(-1)).to.include({ point: 65, updateMillis: 60 })
      const rows = old.prepare('SELECT user_id AS id, point FROM balances ORDER BY user_id').all()
      old.close()

      const store = openSqliteStore(path)
      try {
        const db = new Sqlite(path, { readonly: true })
        try {
          expect(db.pragma('user_version', { simple: true })).to.equal(9)
          expect(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'balances'").all(), 'the table is gone').to.deep.equal([])
          expect(answers(db), 'histories and ?at= read the log alone').to.deep.equal(before)
        } finally {
          db.close()
        }
        expect(rows).to.deep.equal([{ id: 1, point: 65 }, { id: 2, point: 0 }])
        // The balance each row held; its time is now the last event's, not the commit's.
        expect(await store.balance(userId(1))()).to.deep.equal(E.right({ id: 1, point: 65, updateMillis: 60 }))
        expect(await store.balance(userId(2))()).to.deep.equal(E.right({ id: 2, point: 0, updateMillis: 25 }))
        expect(await store.balanceWithHolds(userId(1))()).to.deep.equal(
          E.right({ point: { id: 1, point: 65, updateMillis: 60 }, holds: [{ holdId: 6, amount: 5, expiresAt: 10_000, placedAt: 60 }] }),
        )
        expect(await store.load(userId(1))()).to.deep.equal(E.right({ balance: 65, version: 6, holds: new Map([[6, { amount: 5, expiresAt: 10_000 }]]) }))
        const report = await runAudit(store, { maxAmount: 1_000, maxBalance: 10_000 })()
        expect(E.map((r: AuditReport) => [r.events, r.findings, r.compared])(report)).to.deep.equal(E.right([8, [], ['holds']]))
        // And it goes on from there.
        const next = await store.append(userId(1), 6, { events: [event(1, 'CHARGE', 5, 70)], projection: { balance: 70, version: 7 }, receipts: [] })()
        expect(E.isRight(next)).to.equal(true)
        expect(E.map((b: { point: number }) => b.point)(await store.balance(userId(1))())).to.deep.equal(E.right(70))
      } finally {
        await store.close()
      }
    })

    describe('step 9 on a file whose balances table disagrees with the log', function () {
      /** The schema version and user 1's balances row, read from the file itself. */
      const onFile = () => {
        const db = new Sqlite(path, { readonly: true })
        try {
          const table = db.prepare("SELECT name FROM sqlite_schema WHERE name = 'balances'").get()
          return { version: db.pragma('user_version', { simple: true }), row: table === undefined ? undefined : db.prepare('SELECT point FROM balances WHERE user_id = 1').get() }
        } finally {
          db.close()
        }
      }

      it('is refused, naming each user, their row and their last event, and left at step 8 with its rows', function () {
        writeDisagreeingStepEight(path)
        expect(() => openSqliteStore(path)).to.throw(
          /step 9 would change the balance of 3 user\(s\).*user 1: row 100, last event 900; user 5: row 70, last event none; user 6: row none, last event 31\. .*npm run audit -- --rebuild` checks it/,
        )
        expect(onFile()).to.deep.equal({ version: 8, row: { point: 100 } })
      })

      it('is refused with the users a rebuild could not repair either named, where the log disagrees with itself', function () {
        writeDisagreeingStepEight(path, 800)
        expect(() => openSqliteStore(path)).to.throw(
          /would change the balance of 3 user\(s\).*--rebuild` cannot repair this either.*1 user\(s\) whose events disagree.*user 1: amounts come to 800, last event says 900, balances row says 100\..*restore the file from a backup/,
        )
        expect(onFile()).to.deep.equal({ version: 8, row: { point: 100 } })
      })

      it('with the operator\'s word, takes each balance from a log that agrees with itself, and reports it once committed', async function () {
        writeDisagreeingStepEight(path)
        const adopted: unknown[] = []
        const versionWhenTold: unknown[] = []
        const store = openSqliteStore(path, {
          adoptLogBalances: (users) => {
            versionWhenTold.push(onFile().version)
            adopted.push(...users)
          },
        })
        try {
          expect(versionWhenTold, 'told after the commit, as another connection sees the file').to.deep.equal([9])
          expect(adopted).to.deep.equal([
            { userId: 1, row: 100, lastEvent: 900, amounts: 900, logAgrees: true },
            { userId: 5, row: 70, lastEvent: null, amounts: 0, logAgrees: true },
            { userId: 6, row: null, lastEvent: 31, amounts: 31, logAgrees: true },
          ])
          const pointOf = async (user: number) => E.map((p: { point: number }) => p.point)(await store.balance(userId(user))())
          expect([await pointOf(5), await pointOf(6)]).to.deep.equal([E.right(0), E.right(31)])
          expect(onFile()).to.deep.equal({ version: 9, row: undefined })
          expect(await store.balance(userId(1))()).to.deep.equal(E.right({ id: 1, point: 900, updateMillis: 10 }))
          const report = await runAudit(store, { maxAmount: 1_000, maxBalance: 10_000 })()
          expect(E.map((r: AuditReport) => r.findings)(report)).to.deep.equal(E.right([]))
        } finally {
          await store.close()
        }
      })

      it('even with the operator\'s word, is refused where the log disagrees with itself: no tool rewrites it', function () {
        writeDisagreeingStepEight(path, 800)
        const adopted: unknown[] = []
        expect(() => openSqliteStore(path, { adoptLogBalances: (users) => adopted.push(...users) })).to.throw(
          /cannot take a balance from the log of 1 user\(s\).*user 1: amounts come to 800, last event says 900, balances row says 100\..*restore the file from a backup/,
        )
        expect(adopted, 'nothing was taken').to.deep.equal([])
        expect(onFile()).to.deep.equal({ version: 8, row: { point: 100 } })
      })
    })
  })
})
