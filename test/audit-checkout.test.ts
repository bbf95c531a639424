import Sqlite from 'better-sqlite3'
import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { join } from 'node:path'
import { Client } from 'pg'
import type { PointStore } from '../src/events/store'
import { runAudit, type AuditSource } from '../src/projections/audit-run'
import { createLedger } from '../src/projections/ledger'
import { openPostgresStore } from '../src/stores/postgres'
import { openSqliteStore } from '../src/stores/sqlite'
import { freshDatabase } from './support/postgres'
import { tempDir } from './support/sqlite'
import { amount, userId } from './support/values'

const limits = { maxAmount: 1_000, maxBalance: 10_000 }
const user = userId(3)

/** A durable store to seed through the service, and raw SQL to corrupt its log with afterwards. */
interface Target {
  readonly open: () => Promise<PointStore & AuditSource>
  readonly tamper: (sql: string) => Promise<void>
  readonly remove: () => Promise<void>
}

async function sqliteTarget(): Promise<Target> {
  const dir = await tempDir()
  const path = join(dir.path, 'points.db')
  return {
    open: () => Promise.resolve(openSqliteStore(path)),
    tamper: (sql) => {
      const db = new Sqlite(path)
      db.exec(sql)
      db.close()
      return Promise.resolve()
    },
    remove: dir.remove,
  }
}

async function postgresTarget(): Promise<Target> {
  const database = await freshDatabase()
  return {
    open: () => openPostgresStore(database.url),
    tamper: async (sql) => {
      const client = new Client({ connectionString: database.url })
      await client.connect()
      await client.query(sql)
      await client.end()
    },
    remove: database.drop,
  }
}

/**
 * User 3, written by the service: charge 500 (v1), use 200 (v2), refund 50 of it (v3), hold 100 (v4, hold 4),
 * capture 60 of hold 4 (v5), hold 100 (v6, hold 6), release hold 6 (v7).
 */
async function seed(target: Target): Promise<number> {
  const store = await target.open()
  try {
    const ledger = createLedger({ store, limits })
    const ok = async <A>(task: () => Promise<E.Either<unknown, A>>): Promise<A> => {
      const result = await task()
      if (E.isLeft(result)) throw new Error(JSON.stringify(result.left))
      return result.right
    }
    await ok(ledger.charge(user, amount(500)))
    await ok(ledger.use(user, amount(200)))
    const useId = (await ok(store.history(user))).at(-1)!.id
    await ok(ledger.refund(user, useId, amount(50)))
    await ok(ledger.hold(user, amount(100), 60_000))
    await ok(ledger.capture(user, 4, amount(60)))
    await ok(ledger.hold(user, amount(100), 60_000))
    await ok(ledger.release(user, 6))
    return useId
  } finally {
    await store.close()
  }
}

/** One more event for user 3 after the last, written straight into the log. */
const appended = (type: string, amountOf: number, ref: number | string, balanceDelta = 0) =>
  `INSERT INTO events (user_id, version, type, amount, time_millis, balance_after, ref)
   SELECT 3, 8, '${type}', ${amountOf}, time_millis + 1, balance_after + ${balanceDelta}, ${ref} FROM events WHERE user_id = 3 AND version = 7`

const targets: Array<[string, () => Promise<Target>]> = [
  ['SQLite', sqliteTarget],
  ['PostgreSQL', postgresTarget],
]

for (const [name, makeTarget] of targets) {
  describe(`audit of refunds and holds on a corrupted log (${name})`, function () {
    this.timeout(30_000)
    let target: Target
    let useId: number

    beforeEach(async function () {
      target = await makeTarget()
      useId = await seed(target)
    })
    afterEach(async function () {
      await target.remove()
    })

    const kinds = async (): Promise<Array<Record<string, unknown>>> => {
      const store = await target.open()
      try {
        const report = await runAudit(store, limits)()
        if (E.isLeft(report)) throw new Error('the audit failed')
        return report.right.findings as unknown as Array<Record<string, unknown>>
      } finally {
        await store.close()
      }
    }

    it('passes the log the service wrote', async function () {
      expect(await kinds()).to.deep.equal([])
    })

    it('finds refunds that add up to more than their use', async function () {
      await target.tamper(appended('REFUND', 151, useId, 151))
      expect(await kinds()).to.deep.include({ kind: 'REFUND_OVER_USE', userId: 3, eventId: (await lastId(target)), useId, refunded: 201, used: 200 })
    })

    it('finds a refund of an event that is not a use of the user', async function () {
      // The user's charge.
      await target.tamper(appended('REFUND', 1, '(SELECT min(id) FROM events WHERE user_id = 3)', 1))
      expect((await kinds()).map((f) => f['kind'])).to.include('BAD_EVENT')
    })

    it('finds a hold resolved twice', async function () {
      await target.tamper(appended('RELEASE', 100, 4))
      expect(await kinds()).to.deep.include({ kind: 'HOLD_RESOLVED_TWICE', userId: 3, eventId: await lastId(target), holdId: 4 })
    })

    it('finds a capture over its hold', async function () {
      await target.tamper(`UPDATE events SET amount = 150 WHERE user_id = 3 AND type = 'CAPTURE'`)
      expect((await kinds()).filter((f) => f['kind'] === 'CAPTURE_OVER_HOLD')).to.have.length(1)
    })

    it('finds available below zero at a prefix, though the balance never is', async function () {
      // The second hold made larger than what was available when it was placed.
      await target.tamper(`UPDATE events SET amount = 400 WHERE user_id = 3 AND version = 6`)
      const found = await kinds()
      expect(found.filter((f) => f['kind'] === 'NEGATIVE_AVAILABLE')).to.deep.equal([{ kind: 'NEGATIVE_AVAILABLE', userId: 3, eventId: await idAt(target, 6), available: -110 }])
      expect(found.map((f) => f['kind'])).to.not.include('NEGATIVE_BALANCE')
    })
  })
}

async function lastId(target: Target): Promise<number> {
  return idAt(target, 8)
}

/** The id of user 3's event at `version`, read through the store's history or, for a hold, its log. */
async function idAt(target: Target, version: number): Promise<number> {
  const store = await target.open()
  try {
    let found: number | undefined
    for await (const chunk of store.scanEvents(user)) for (const entry of chunk) if (entry.version === version) found = entry.id
    if (found === undefined) throw new Error(`no event at version ${version}`)
    return found
  } finally {
    await store.close()
  }
}
