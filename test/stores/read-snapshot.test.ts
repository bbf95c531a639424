import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { join } from 'node:path'
import type { Pool } from 'pg'
import type { PointEvent } from '../../src/events/model'
import type { PointStore } from '../../src/events/store'
import { createReads } from '../../src/projections/reads'
import { openPostgresStore } from '../../src/stores/postgres'
import { openSqliteStore } from '../../src/stores/sqlite'
import { freshDatabase } from '../support/postgres'
import { tempDir } from '../support/sqlite'
import { amount, userId } from '../support/values'

/** A store under test, and a second connection to its data whose write a test lands between two of its statements. */
interface SnapshotFixture {
  readonly store: PointStore
  readonly writer: PointStore
  /** Runs `write` once, right after the store's next statement has answered and before the store goes on. */
  readonly afterNextStatement: (write: () => Promise<E.Either<unknown, unknown>>) => Promise<E.Either<unknown, unknown>>
  readonly dispose: () => Promise<void>
}

const user = userId(1)
const later = 1_000_000
const charge = (n: number, timeMillis: number): PointEvent => ({ type: 'CHARGE', userId: user, amount: amount(n), timeMillis })
const hold = (ref: number, n: number, timeMillis: number): PointEvent => ({ ...charge(n, timeMillis), type: 'HOLD', ref, expiresAt: later })
const capture = (ref: number, n: number, timeMillis: number): PointEvent => ({ ...charge(n, timeMillis), type: 'CAPTURE', ref })

interface Funds {
  readonly point: number
  readonly held: number
  readonly available: number
}

/**
 * A balance answer comes from one state of the log, whatever commits while it is read: the write is landed right
 * after the read's first statement, deterministically, where two statements under READ COMMITTED (or two read
 * transactions) let the second see it and the first not.
 */
function snapshotSuite(name: string, open: () => Promise<SnapshotFixture>): void {
  describe(`a balance read from one snapshot: ${name}`, function () {
    this.timeout(30_000)
    let fixture: SnapshotFixture
    beforeEach(async function () {
      fixture = await open()
    })
    afterEach(async function () {
      await fixture.dispose()
    })

    const funds = ({ point, held, available }: Funds): Funds => ({ point, held, available })
    const append = async (store: PointStore, version: number, events: PointEvent[], balance: number) => {
      const appended = await store.append(user, version, { events, projection: { balance, version: version + events.length }, receipts: [] })()
      expect(E.isRight(appended), JSON.stringify(appended)).to.equal(true)
    }

    /** Reads with `write` landed between, and checks the answer is the state before or after it, not a mix. */
    const readAcross = async (read: () => Promise<E.Either<unknown, Funds>>, write: () => Promise<E.Either<unknown, unknown>>, before: Funds, after: Funds) => {
      const written = fixture.afterNextStatement(write)
      const answer = await read()
      expect(E.isRight(await written), 'the write between the statements committed').to.equal(true)
      const seen = E.map(funds)(answer)
      expect([E.right(before), E.right(after)], `the state before the write or after it, not a mix: ${JSON.stringify(seen)}`).to.deep.include(seen)
      expect(E.map(funds)(await read())).to.deep.equal(E.right(after))
    }

    it('does not count a hold placed after the balance was read against it: available never below zero', async function () {
      await append(fixture.store, 0, [charge(10, 100)], 10)
      const reads = createReads(fixture.store, () => 500)
      const placed = () => fixture.writer.append(user, 1, { events: [charge(90, 200), hold(3, 100, 200)], projection: { balance: 100, version: 3 }, receipts: [] })()
      await readAcross(() => reads.balance(user)(), placed, { point: 10, held: 0, available: 10 }, { point: 100, held: 100, available: 0 })
    })

    it('does not free a hold captured after the balance was read: the points are spent or held, never available', async function () {
      await append(fixture.store, 0, [charge(100, 100), hold(2, 30, 100)], 100)
      const reads = createReads(fixture.store, () => 500)
      const captured = () => fixture.writer.append(user, 2, { events: [capture(2, 30, 200)], projection: { balance: 70, version: 3 }, receipts: [] })()
      await readAcross(() => reads.balance(user)(), captured, { point: 100, held: 30, available: 70 }, { point: 70, held: 0, available: 70 })
    })

    it('?at=: an event stamped at or before `at` that commits during the read counts in all of the answer or none', async function () {
      await append(fixture.store, 0, [charge(100, 10), hold(2, 30, 20)], 100)
      const reads = createReads(fixture.store)
      // Decided at 25, committed after the read as of 30 began: a batch in flight, or another instance's clock.
      const captured = () => fixture.writer.append(user, 2, { events: [capture(2, 30, 25)], projection: { balance: 70, version: 3 }, receipts: [] })()
      await readAcross(() => reads.balanceAt(user, 30)(), captured, { point: 100, held: 30, available: 70 }, { point: 70, held: 0, available: 70 })
    })
  })
}

/** Once a write is armed, the next statement's answer waits for it. */
const arming = () => {
  let armed: (() => Promise<E.Either<unknown, unknown>>) | undefined
  let done: (result: Promise<E.Either<unknown, unknown>>) => void = () => undefined
  return {
    arm: (write: () => Promise<E.Either<unknown, unknown>>) => {
      armed = write
      return new Promise<E.Either<unknown, unknown>>((resolve) => (done = (result) => resolve(result)))
    },
    /** The armed write, started now, if any; then disarmed. */
    fire: (): Promise<E.Either<unknown, unknown>> | undefined => {
      const write = armed
      armed = undefined
      if (write === undefined) return undefined
      const result = write()
      done(result)
      return result
    },
  }
}

/** A fixture on a store under test and its writer: both closed, then their files or database removed, at the end. */
const snapshotFixture = (
  store: PointStore & { close: () => Promise<void> },
  writer: PointStore & { close: () => Promise<void> },
  write: ReturnType<typeof arming>,
  remove: () => Promise<void>,
): SnapshotFixture => ({
  store,
  writer,
  afterNextStatement: write.arm,
  dispose: async () => {
    await Promise.all([store.close(), writer.close()])
    await remove()
  },
})

snapshotSuite('postgres', async () => {
  const database = await freshDatabase()
  const store = await openPostgresStore(database.url)
  const writer = await openPostgresStore(database.url)
  // Every statement of the store under test goes through its pool's `query`.
  const pool = (store as unknown as { pool: Pool }).pool as unknown as { query: (config: unknown) => Promise<unknown> }
  const query = pool.query.bind(pool)
  const write = arming()
  pool.query = async (config) => {
    const answer = await query(config)
    await write.fire()
    return answer
  }
  return snapshotFixture(store, writer, write, () => database.drop())
})

/**
 * `alone`: the write goes through the store under test itself, its commit queued for the turn after the read's first
 * statement: what a charge arriving with a GET on one instance does. Otherwise it is another connection's, committed
 * at once (one commit per append): another process on the same file.
 */
const sqliteSnapshot = (alone: boolean) => async (): Promise<SnapshotFixture> => {
  const dir = await tempDir()
  const path = join(dir.path, 'points.db')
  const store = openSqliteStore(path)
  const writer = alone ? store : openSqliteStore(path, { groupCommit: false })
  // Every statement of the store under test is one of its catalogue's, run synchronously.
  const catalogue = (store as unknown as { sql: Record<string, (...args: unknown[]) => unknown> }).sql
  const write = arming()
  for (const [name, statement] of Object.entries(catalogue)) {
    catalogue[name] = (...args) => {
      const answer = statement(...args)
      void write.fire()
      return answer
    }
  }
  return snapshotFixture(store, writer, write, () => dir.remove())
}

snapshotSuite('sqlite, another connection writing', sqliteSnapshot(false))
snapshotSuite('sqlite, the same store writing in the next turn', sqliteSnapshot(true))
