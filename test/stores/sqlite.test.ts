import Sqlite from 'better-sqlite3'
import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { join } from 'node:path'
import type { IdempotencyKey, PointEvent } from '../../src/events/model'
import { createLedger } from '../../src/projections/ledger'
import { openDatabase, openSqliteStore, SqliteStore, type SqliteStoreOptions } from '../../src/stores/sqlite'
import { migrate, migrations, type Migration } from '../../src/stores/sqlite/schema'
import { duplicateKeys } from '../../src/stores/sqlite/sql/duplicate-keys'
import { sqliteFixture, tempDir, type TempDir } from '../support/sqlite'
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
})
