import Sqlite from 'better-sqlite3'
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Client } from 'pg'
import * as E from 'fp-ts/Either'
import type { PointStore, StoredHold } from '../src/events/store'
import { createLedger } from '../src/projections/ledger'
import { openPostgresStore } from '../src/stores/postgres'
import { openSqliteStore } from '../src/stores/sqlite'
import { freshDatabase } from './support/postgres'
import { tempDir, writeDisagreeingStepEight } from './support/sqlite'
import { amount, userId } from './support/values'

const root = resolve(__dirname, '..')
const limits = { maxAmount: 1_000, maxBalance: 10_000 }

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** A store the audit CLI can be pointed at: the environment that selects it, and raw SQL to corrupt it with. */
interface Target {
  readonly env: Record<string, string>
  readonly open: () => Promise<PointStore>
  readonly tamper: (sql: string) => Promise<void>
  /** Runs `sql` past the table's CHECK constraints, as a hand edit that ignored or dropped them would. */
  readonly tamperUnchecked: (table: string, sql: string) => Promise<void>
  readonly remove: () => Promise<void>
}

/** What the store keeps beside its log, which the audit compares with it: PostgreSQL a balance projection too. */
interface Kept {
  readonly projection: boolean
  /** The audit summary's `compared with log` line. */
  readonly compared: string
}

async function sqliteTarget(): Promise<Target> {
  const dir = await tempDir()
  const path = join(dir.path, 'points.db')
  return {
    env: { POINT_STORE: 'sqlite', SQLITE_PATH: path },
    open: () => Promise.resolve(openSqliteStore(path)),
    tamper: (sql) => {
      const db = new Sqlite(path)
      db.prepare(sql).run()
      db.close()
      return Promise.resolve()
    },
    tamperUnchecked: (_table, sql) => {
      const db = new Sqlite(path)
      db.pragma('ignore_check_constraints = ON')
      db.prepare(sql).run()
      db.close()
      return Promise.resolve()
    },
    remove: dir.remove,
  }
}

async function postgresTarget(): Promise<Target> {
  const database = await freshDatabase()
  return {
    env: { POINT_STORE: 'postgres', DATABASE_URL: database.url },
    open: () => openPostgresStore(database.url),
    tamper: async (sql) => {
      const client = new Client({ connectionString: database.url })
      await client.connect()
      await client.query(sql)
      await client.end()
    },
    tamperUnchecked: async (table, sql) => {
      const client = new Client({ connectionString: database.url })
      await client.connect()
      const checks = await client.query<{ name: string }>(
        `SELECT conname AS name FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'`,
        [table],
      )
      for (const { name } of checks.rows) await client.query(`ALTER TABLE ${table} DROP CONSTRAINT "${name}"`)
      await client.query(sql)
      await client.end()
    },
    remove: database.drop,
  }
}

/** `npm run audit -- …` on the given store, as an operator would run it. */
async function audit(target: Target, ...args: string[]): Promise<Run> {
  const env = { ...target.env, POINT_MAX_AMOUNT: String(limits.maxAmount), POINT_MAX_BALANCE: String(limits.maxBalance) }
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/audit.ts', ...args], { cwd: root, env })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

const findings = (run: Run) =>
  (JSON.parse(run.stdout) as { findings: Array<{ kind: string; userId?: number; stored?: number; replayed?: number; detail?: string }> }).findings

/** Two users, a charge and a use each, written by the service. */
async function seed(target: Target): Promise<void> {
  const store = await target.open()
  const ledger = createLedger({ store, limits })
  await ledger.charge(userId(1), amount(500))()
  await ledger.use(userId(1), amount(200))()
  await ledger.charge(userId(2), amount(100))()
  await ledger.use(userId(2), amount(50))()
  await store.close()
}

/**
 * Holds through the service, after `seed`: user 1 holds 100 (hold 3), 50 (hold 4) and 20 (hold 5), and releases a
 * hold of 10 (hold 6, released at version 7); user 2 holds 10 (hold 3). Answers the holds each is left with.
 */
async function seedHolds(target: Target): Promise<StoredHold[][]> {
  const store = await target.open()
  try {
    const ledger = createLedger({ store, limits })
    const steps = [
      ledger.hold(userId(1), amount(100), 60_000),
      ledger.hold(userId(1), amount(50), 60_000),
      ledger.hold(userId(1), amount(20), 60_000),
      ledger.hold(userId(1), amount(10), 60_000),
      ledger.release(userId(1), 6),
      ledger.hold(userId(2), amount(10), 60_000),
    ]
    for (const step of steps) expect(E.isRight(await step())).to.equal(true)
    return await heldBy(store)
  } finally {
    await store.close()
  }
}

/** The holds of users 1 and 2 as the store reads them from its holds table. */
async function heldBy(store: PointStore): Promise<StoredHold[][]> {
  const held: StoredHold[][] = []
  for (const user of [1, 2]) {
    const holds = await store.holds(userId(user))()
    if (E.isLeft(holds)) throw new Error(`the holds of user ${user} could not be read`)
    held.push(holds.right)
  }
  return held
}

const targets: Array<[string, () => Promise<Target>, Kept]> = [
  // SQLite reads a balance from the user's last event: a wrong balance is a wrong `balance_after`, evidence in the log.
  ['SQLite file', sqliteTarget, { projection: false, compared: 'holds' }],
  ['PostgreSQL', postgresTarget, { projection: true, compared: 'balances, holds' }],
]

const holdText = (h: Omit<StoredHold, 'holdId'>) => `amount ${h.amount}, expires ${h.expiresAt}, placed ${h.placedAt}`

for (const [name, makeTarget, kept] of targets) {
  describe(`npm run audit (${name})`, function () {
    this.timeout(30_000)
    let target: Target

    beforeEach(async function () {
      target = await makeTarget()
      await seed(target)
    })
    afterEach(async function () {
      await target.remove()
    })

    it('passes a log the service wrote, printing users, events, events/s and findings', async function () {
      const run = await audit(target)
      expect(run.code).to.equal(0)
      expect(run.stdout).to.match(/^users\s+2$/m).and.match(/^events\s+4$/m).and.match(/^events\/s\s+\d+$/m).and.match(/^findings\s+0$/m)
      // Only the tables the store keeps: on SQLite no balance projection is claimed checked.
      expect(run.stdout).to.match(new RegExp(`^compared with log\\s+${kept.compared}$`, 'm')).and.match(/^rebuilt\s+no$/m)
      expect(JSON.parse((await audit(target, '--json')).stdout)).to.include({ rebuilt: false }).and.have.deep.property('compared', kept.compared.split(', '))
    })

    if (kept.projection) {
      it('reports a corrupted projection row and exits non-zero; --rebuild repairs it from the log', async function () {
        await target.tamper('UPDATE balances SET point = point + 1 WHERE user_id = 1')
        const found = await audit(target, '--json')
        expect(found.code).to.equal(1)
        expect(findings(found)).to.have.length(1)
        expect(findings(found)[0]).to.include({ kind: 'PROJECTION_MISMATCH', userId: 1 })

        expect((await audit(target, '--rebuild')).code, 'a repaired projection is not a remaining finding').to.equal(0)
        expect((await audit(target)).code).to.equal(0)
      })
    } else {
      it("reports a wrong balance on a user's last event, the balance the store answers, and exits non-zero; --rebuild leaves it reported", async function () {
        await target.tamper('UPDATE events SET balance_after = balance_after + 1 WHERE user_id = 1 AND version = 2')
        const store = await target.open()
        try {
          expect(E.map((b: { point: number }) => b.point)(await store.balance(userId(1))()), 'what GET answers').to.deep.equal(E.right(301))
        } finally {
          await store.close()
        }
        const found = await audit(target, '--json')
        expect(found.code).to.equal(1)
        expect(findings(found)).to.deep.equal([{ kind: 'BALANCE_AFTER_MISMATCH', userId: 1, eventId: 2, stored: 301, replayed: 300 }])
        const rebuilt = await audit(target, '--rebuild')
        expect(rebuilt.code, 'the log is evidence, repaired by no tool').to.equal(1)
        expect(rebuilt.stdout).to.match(/^rebuilt\s+holds$/m)
      })
    }

    it(`reports a corrupted log row: the prefix it breaks${kept.projection ? ' and the projection it no longer explains' : ''}`, async function () {
      await target.tamper('UPDATE events SET amount = 150 WHERE user_id = 2 AND version = 2')
      const found = await audit(target, '--json')
      expect(found.code).to.equal(1)
      const projected = kept.projection ? ['PROJECTION_MISMATCH'] : []
      expect(findings(found).map((f) => f.kind).sort()).to.deep.equal(['BALANCE_AFTER_MISMATCH', 'NEGATIVE_BALANCE', ...projected])
    })

    it('reports a stored balance_after that the replay does not give, and --rebuild leaves it reported', async function () {
      await target.tamper('UPDATE events SET balance_after = balance_after + 7 WHERE user_id = 1 AND version = 1')
      const found = await audit(target, '--json')
      expect(found.code).to.equal(1)
      expect(findings(found)).to.have.length(1)
      expect(findings(found)[0]).to.include({ kind: 'BALANCE_AFTER_MISMATCH', userId: 1, stored: 507, replayed: 500 })
      // The rebuild rewrites the tables beside the log only; the log's column is evidence, repaired by no tool.
      expect((await audit(target, '--rebuild')).code).to.equal(1)
    })

    it("reports a user's event stamped earlier than the one before it", async function () {
      await target.tamper('UPDATE events SET time_millis = 0 WHERE user_id = 2 AND version = 2')
      const found = findings(await audit(target, '--json'))
      expect(found).to.have.length(1)
      expect(found[0]).to.include({ kind: 'OUT_OF_ORDER', userId: 2 })
    })

    it('reports an events row of unknown type as a bad event, instead of replaying it as a use', async function () {
      await target.tamperUnchecked('events', "UPDATE events SET type = 'BONUS' WHERE user_id = 1 AND version = 2")
      const found = await audit(target, '--json')
      expect(found.code).to.equal(1)
      const bad = findings(found).filter((f) => f.kind === 'BAD_EVENT')
      expect(bad).to.have.length(1)
      expect(bad[0]).to.include({ userId: 1 })
      expect(bad[0]?.detail).to.contain('BONUS')
    })

    it('reports an events row whose amount is not positive as a bad event, instead of replaying it with its sign flipped', async function () {
      await target.tamperUnchecked('events', 'UPDATE events SET amount = -50 WHERE user_id = 2 AND version = 2')
      const found = await audit(target, '--json')
      expect(found.code).to.equal(1)
      expect(findings(found).filter((f) => f.kind === 'BAD_EVENT')).to.deep.include({ kind: 'BAD_EVENT', userId: 2, eventId: 4, detail: 'amount -50' })
    })

    if (kept.projection) {
      it('reports a negative balance row as a projection the log does not explain', async function () {
        await target.tamperUnchecked('balances', 'UPDATE balances SET point = -5 WHERE user_id = 1')
        const found = await audit(target, '--json')
        expect(found.code).to.equal(1)
        expect(findings(found)).to.deep.equal([{ kind: 'PROJECTION_MISMATCH', userId: 1, projected: 'point -5 at version 2', replayed: 'point 300 at version 2' }])
      })
    } else {
      it("reports a negative balance on a user's last event as a balance the log does not give", async function () {
        await target.tamper('UPDATE events SET balance_after = -5 WHERE user_id = 1 AND version = 2')
        const found = await audit(target, '--json')
        expect(found.code).to.equal(1)
        expect(findings(found)).to.deep.equal([{ kind: 'BALANCE_AFTER_MISMATCH', userId: 1, eventId: 2, stored: -5, replayed: 300 }])
      })
    }

    it('reports a gap in a user\'s versions', async function () {
      await target.tamper('DELETE FROM events WHERE user_id = 1 AND version = 1')
      expect(findings(await audit(target, '--json')).map((f) => f.kind)).to.include('OUT_OF_ORDER')
    })

    it('audits one user alone with --user', async function () {
      await target.tamper(kept.projection ? 'UPDATE balances SET point = point + 1 WHERE user_id = 2' : 'UPDATE events SET balance_after = balance_after + 1 WHERE user_id = 2 AND version = 2')
      const one = await audit(target, '--user', '1', '--json')
      expect(one.code).to.equal(0)
      expect(JSON.parse(one.stdout)).to.include({ users: 1, events: 2 })
    })

    it('reports holds-table rows the log does not give (missing, extra, another amount or expiry); --rebuild writes them from the log', async function () {
      const held = await seedHolds(target)
      expect(held.map((holds) => holds.map((h) => h.holdId))).to.deep.equal([[3, 4, 5], [3]])
      await target.tamper('DELETE FROM holds WHERE user_id = 1 AND hold_id = 3')
      await target.tamper('UPDATE holds SET amount = 70 WHERE user_id = 1 AND hold_id = 4')
      await target.tamper('UPDATE holds SET expires_millis = expires_millis + 1 WHERE user_id = 1 AND hold_id = 5')
      // The released hold back, and one user 2 never placed.
      await target.tamper('INSERT INTO holds (user_id, hold_id, amount, expires_millis, placed_millis) VALUES (1, 6, 10, 9000000000000, 1)')
      await target.tamper('INSERT INTO holds (user_id, hold_id, amount, expires_millis, placed_millis) VALUES (2, 9, 5, 9000000000000, 1)')
      const found = await audit(target, '--json')
      expect(found.code).to.equal(1)
      const [hold3, hold4, hold5] = held[0]!
      expect(findings(found)).to.have.deep.members([
        { kind: 'HOLD_ROW_MISMATCH', userId: 1, holdId: 3, stored: 'no row', replayed: holdText(hold3!) },
        { kind: 'HOLD_ROW_MISMATCH', userId: 1, holdId: 4, stored: holdText({ ...hold4!, amount: 70 }), replayed: holdText(hold4!) },
        { kind: 'HOLD_ROW_MISMATCH', userId: 1, holdId: 5, stored: holdText({ ...hold5!, expiresAt: hold5!.expiresAt + 1 }), replayed: holdText(hold5!) },
        { kind: 'HOLD_ROW_MISMATCH', userId: 1, holdId: 6, stored: 'amount 10, expires 9000000000000, placed 1', replayed: 'no active hold' },
        { kind: 'HOLD_ROW_MISMATCH', userId: 2, holdId: 9, stored: 'amount 5, expires 9000000000000, placed 1', replayed: 'no active hold' },
      ])

      expect((await audit(target, '--rebuild')).code, 'a rebuilt holds table is not a remaining finding').to.equal(0)
      expect((await audit(target)).code).to.equal(0)
      const store = await target.open()
      try {
        expect(await heldBy(store)).to.deep.equal(held)
      } finally {
        await store.close()
      }
    })

    it('rebuilds one user alone with --user --rebuild: the other users\' balance and holds rows stay as they were', async function () {
      const held = await seedHolds(target)
      if (kept.projection) await target.tamper('UPDATE balances SET point = point + 1 WHERE user_id IN (1, 2)')
      // Hold 3 of each user.
      await target.tamper('DELETE FROM holds WHERE hold_id = 3')
      expect((await audit(target, '--user', '1', '--rebuild')).code).to.equal(0)
      // User 2's wrong rows are still there to be found.
      const found = await audit(target, '--json')
      expect(findings(found)).to.deep.equal([
        ...(kept.projection ? [{ kind: 'PROJECTION_MISMATCH', userId: 2, projected: 'point 51 at version 3', replayed: 'point 50 at version 3' }] : []),
        { kind: 'HOLD_ROW_MISMATCH', userId: 2, holdId: 3, stored: 'no row', replayed: holdText(held[1]![0]!) },
      ])
    })

    it('refuses a bad --user with exit code 2', async function () {
      expect((await audit(target, '--user', 'abc')).code).to.equal(2)
    })
  })
}

describe('npm run audit on a SQLite file at schema step 8 whose balances table disagrees with its log', function () {
  this.timeout(30_000)
  let target: Target

  beforeEach(async function () {
    target = await sqliteTarget()
    writeDisagreeingStepEight(target.env['SQLITE_PATH']!)
  })
  afterEach(async function () {
    await target.remove()
  })

  it('refuses to migrate it, exit code 2, naming the user and the command that repairs it', async function () {
    const run = await audit(target)
    expect(run.code).to.equal(2)
    expect(run.stderr).to.match(/user 1: row 100, last event 900;.*npm run audit -- --rebuild/)
    expect(run.stderr, 'not a mistyped command').not.to.match(/usage:/)
  })

  it('with --rebuild, takes the balance from the log, says so, finds nothing else and exits 0', async function () {
    const run = await audit(target, '--rebuild')
    expect(run.code, run.stderr).to.equal(0)
    expect(run.stdout).to.match(/^user 1: balance 900 from the log; the balances row said 100$/m)
    expect(run.stdout).to.match(/^user 5: balance 0, as the log has no events; the balances row said 70$/m)
    expect(run.stdout).to.match(/^user 6: balance 31 from the log; there was no balances row$/m)
    expect(run.stdout).to.match(/^findings {12}0$/m)
    const store = await target.open()
    try {
      expect(await store.balance(userId(1))()).to.deep.equal(E.right({ id: 1, point: 900, updateMillis: 10 }))
    } finally {
      await store.close()
    }
  })
})

/** The audit's rebuild, seen waiting for a row lock for longer than its statement could have run under a timeout. */
const waitingRebuild = `SELECT 1 FROM pg_stat_activity
  WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM balances%'
    AND clock_timestamp() - query_start > interval '200 milliseconds'`

describe('npm run audit (PostgreSQL) and the statement timeout', function () {
  this.timeout(30_000)

  it('is not bound by PG_STATEMENT_TIMEOUT_MS: a rebuild waits for a row held locked elsewhere', async function () {
    const target = await postgresTarget()
    const holder = new Client({ connectionString: target.env['DATABASE_URL'] })
    // Outside the holder's transaction, which would see one snapshot of pg_stat_activity throughout.
    const watcher = new Client({ connectionString: target.env['DATABASE_URL'] })
    try {
      await seed(target)
      await Promise.all([holder.connect(), watcher.connect()])
      await holder.query('BEGIN')
      await holder.query('SELECT * FROM balances WHERE user_id = 1 FOR UPDATE')
      const rebuilt = audit({ ...target, env: { ...target.env, PG_STATEMENT_TIMEOUT_MS: '50' } }, '--rebuild')
      let ended = false
      void rebuilt.finally(() => (ended = true))
      // Let go once the rebuild is seen waiting for the lock far past the 50 ms it would be cancelled at, or has ended.
      while (!ended && (await watcher.query(waitingRebuild)).rows.length === 0) await sleep(20)
      await holder.query('ROLLBACK')
      expect((await rebuilt).code).to.equal(0)
    } finally {
      await Promise.all([holder.end(), watcher.end()])
      await target.remove()
    }
  })
})
