import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import pg from 'pg'
import type { IdempotencyKey, PointEvent } from '../../src/events/model'
import { replay } from '../../src/projections/balance'
import { createLedger } from '../../src/projections/ledger'
import { sharedStoreRetries } from '../../src/stores/conflict-backoff'
import { openPostgresStore, type PostgresStore } from '../../src/stores/postgres'
import { migratePostgres, pgMigrations } from '../../src/stores/postgres/schema'
import { embedded, freshDatabase, postgresServer, type FreshDatabase } from '../support/postgres'
import { amount, userId } from '../support/values'

const charge = (user: number, n: number): PointEvent => ({ type: 'CHARGE', userId: userId(user), amount: amount(n), timeMillis: 1_000 })
interface Queryable {
  readonly pool: { query: (sql: string) => Promise<{ rows: unknown[] }>; readonly idleCount: number }
}
const tagOf = (result: E.Either<{ _tag: string }, unknown>): string => (E.isLeft(result) ? result.left._tag : 'Right')

describe('postgres store', function () {
  let database: FreshDatabase
  const opened: PostgresStore[] = []
  const open = async (options = {}) => {
    const store = await openPostgresStore(database.url, options)
    opened.push(store)
    return store
  }

  beforeEach(async function () {
    database = await freshDatabase()
  })
  afterEach(async function () {
    await Promise.all(opened.splice(0).map((s) => s.close()))
    await database.drop()
  })

  it('applies each migration once, even when several instances start at the same moment', async function () {
    const stores = await Promise.all([open(), open(), open()])
    const { rows } = await (stores[0] as unknown as Queryable).pool.query(
      'SELECT version FROM schema_migrations ORDER BY version',
    )
    expect(rows).to.deep.equal(pgMigrations.map(({ version }) => ({ version })))
  })

  it('keys receipts per user from the step that does so, keeping the receipts recorded before it', async function () {
    const step = pgMigrations.findIndex((m) => m.name.startsWith('receipts keyed per user'))
    expect(step).to.be.greaterThan(0)
    const now = 1_700_000_000_000
    const pool = new pg.Pool({ connectionString: database.url })
    try {
      await migratePostgres(pool, pgMigrations.slice(0, step))
      await pool.query('INSERT INTO receipts (key, user_id, fingerprint, outcome, update_millis) VALUES ($1, $2, $3, $4, $5)', [
        'k', 1, 'Charge:1:5', JSON.stringify({ _tag: 'Accepted', point: 5 }), now,
      ])
    } finally {
      await pool.end()
    }
    const store = await open({ clock: () => now })
    expect(await store.receipts(userId(1), ['k' as IdempotencyKey])()).to.deep.equal(
      E.right([{ key: 'k', userId: 1, fingerprint: 'Charge:1:5', outcome: { _tag: 'Accepted', point: 5, updateMillis: now } }]),
    )
    const theirs = { key: 'k' as IdempotencyKey, userId: userId(2), fingerprint: 'Charge:2:5', outcome: { _tag: 'Accepted' as const, point: 5 } }
    expect(tagOf(await store.append(userId(2), 0, { events: [charge(2, 5)], projection: { balance: 5, version: 1 }, receipts: [theirs] })())).to.equal('Right')
  })

  it('migrates a step-6 database: the feed trigger is gone, the transactions stored keep their order, and appends go on raising them', async function () {
    const step = pgMigrations.findIndex((m) => m.name.startsWith('change feed: the append statements'))
    expect(step).to.equal(6)
    const pool = new pg.Pool({ connectionString: database.url })
    try {
      await migratePostgres(pool, pgMigrations.slice(0, step))
      // Written under step 6: the first event's tx is set ahead of the transactions to come, and the trigger raises
      // the second one's to it. Then enough transactions end that the feed's xmin passes it.
      await pool.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after, tx)
        VALUES (1, 1, 'CHARGE', 1, 1, 1, (pg_current_xact_id()::text::bigint + 20)::text::xid8)`)
      await pool.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after) VALUES (1, 2, 'CHARGE', 2, 1, 3)`)
      await pool.query('INSERT INTO balances (user_id, point, version, update_millis) VALUES (1, 3, 2, 1)')
      for (let i = 0; i < 30; i++) await pool.query('SELECT pg_current_xact_id()')
    } finally {
      await pool.end()
    }
    const store = await open()
    const db = (store as unknown as Queryable).pool
    expect((await db.query(`SELECT tgname FROM pg_trigger WHERE tgname = 'events_feed_tx'`)).rows).to.deep.equal([])
    expect((await db.query(`SELECT proname FROM pg_proc WHERE proname = 'events_feed_tx'`)).rows).to.deep.equal([])
    expect(tagOf(await store.append(userId(1), 2, { events: [charge(1, 3)], projection: { balance: 6, version: 3 }, receipts: [] })())).to.equal('Right')
    const { rows } = await db.query('SELECT tx::text AS tx FROM events ORDER BY version')
    const [first, second, third] = rows.map((row) => Number((row as { tx: string }).tx))
    expect(second, 'raised by the trigger before the migration').to.equal(first)
    expect(third).to.be.greaterThan(second!)
    const page = await store.feed({ after: { commit: 0, event: 0 }, limit: 10 })()
    expect(E.isRight(page) && page.right.map(({ event }) => event.amount)).to.deep.equal([1, 2, 3])
  })

  it('treats one user\'s key recorded by two instances at once as a lost race: one receipt, the same answer for both', async function () {
    const limits = { maxAmount: 1_000, maxBalance: 1_000_000 }
    const [a, b] = await Promise.all([open(), open()])
    const ledgers = [a, b].map((store) => createLedger({ store, limits, ...sharedStoreRetries }))
    // Refusals of an empty user write a receipt and no event: only the receipts' key stands between the instances.
    for (let round = 1; round <= 10; round++) {
      const k = `refused-${round}` as IdempotencyKey
      const answers = await Promise.all(ledgers.map((ledger) => ledger.use(userId(round), amount(500), k)()))
      const refusals = answers.map((answer) => (E.isLeft(answer) && answer.left._tag === 'Rejection' ? answer.left : undefined))
      expect(refusals.map((r) => r?.code), `round ${round}`).to.deep.equal(['INSUFFICIENT_BALANCE', 'INSUFFICIENT_BALANCE'])
      expect(refusals.filter((r) => r?.replayed !== true), `round ${round}`).to.have.length(1)
      expect(await a.receipts(userId(round), [k])()).to.satisfy((found: E.Either<unknown, unknown[]>) => E.isRight(found) && found.right.length === 1)
    }
  })

  it('lets several instances prune at once: each expired receipt is deleted once, none is left, no fresh one is taken', async function () {
    let now = 1_700_000_000_000
    const clock = () => now
    const [a, b] = await Promise.all([open({ clock, receiptRetentionMillis: 1_000 }), open({ clock, receiptRetentionMillis: 1_000 })])
    const receipts = (user: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ key: `k-${i}` as IdempotencyKey, userId: userId(user), fingerprint: `f-${i}`, outcome: { _tag: 'Accepted' as const, point: 1 } }))
    for (const user of [1, 2, 3]) {
      expect(tagOf(await a.append(userId(user), 0, { events: [charge(user, 1)], projection: { balance: 1, version: 1 }, receipts: receipts(user, 20) })())).to.equal('Right')
    }
    now += 1_000
    expect(tagOf(await a.append(userId(4), 0, { events: [charge(4, 1)], projection: { balance: 1, version: 1 }, receipts: receipts(4, 5) })())).to.equal('Right')
    const drain = async (store: PostgresStore) => {
      let total = 0
      for (;;) {
        const deleted = await store.pruneReceipts(4)()
        if (E.isLeft(deleted)) throw new Error(`pruning faulted: ${JSON.stringify(deleted.left)}`)
        expect(deleted.right).to.be.at.most(4)
        if (deleted.right === 0) return total
        total += deleted.right
      }
    }
    const [byA, byB] = await Promise.all([drain(a), drain(b)])
    expect(byA + byB).to.equal(60)
    const { rows } = await (a as unknown as Queryable).pool.query('SELECT user_id, count(*)::integer AS n FROM receipts GROUP BY user_id')
    expect(rows).to.deep.equal([{ user_id: 4, n: 5 }])
  })

  it('appendLocked decides on the state it read under the row lock and appends in the same transaction', async function () {
    const [a, b] = await Promise.all([open(), open()])
    await a.append(userId(1), 0, { events: [charge(1, 10)], projection: { balance: 10, version: 1 }, receipts: [] })()
    await a.append(userId(1), 1, { events: [charge(1, 5)], projection: { balance: 15, version: 2 }, receipts: [] })()
    const seen: unknown[] = []
    const appended = await b.appendLocked(userId(1), (state) => {
      seen.push(state)
      return { events: [charge(1, 1)], projection: { balance: state.balance + 1, version: state.version + 1 }, receipts: [] }
    })()
    expect(seen).to.deep.equal([{ balance: 15, version: 2 }])
    expect(tagOf(appended)).to.equal('Right')
    expect(await a.load(userId(1))()).to.deep.equal(E.right({ balance: 16, version: 3 }))
  })

  it('reads the loads of one turn in one statement; a user with no row is at the start, and a bad row fails its user alone', async function () {
    const store = await open()
    await store.append(userId(1), 0, { events: [charge(1, 10)], projection: { balance: 10, version: 1 }, receipts: [] })()
    await store.append(userId(2), 0, { events: [charge(2, 7)], projection: { balance: 7, version: 1 }, receipts: [] })()
    const pool = (store as unknown as Queryable).pool
    // A point past 2^53 cannot be a safe integer once read: the row does not decode.
    await pool.query('INSERT INTO balances (user_id, point, version, update_millis) VALUES (9, 1152921504606846976, 1, 0)')
    const named: unknown[] = []
    const query = pool.query.bind(pool)
    Object.assign(pool, { query: (config: unknown, ...rest: unknown[]) => (named.push((config as { name?: unknown }).name), (query as (...a: unknown[]) => unknown)(config, ...rest)) })

    const loaded = await Promise.all([1, 2, 3, 9, 1].map((user) => store.load(userId(user))()))

    expect(named.filter((name) => name === 'load')).to.have.length(1)
    expect(loaded.slice(0, 3)).to.deep.equal([E.right({ balance: 10, version: 1 }), E.right({ balance: 7, version: 1 }), E.right({ balance: 0, version: 0 })])
    expect(tagOf(loaded[3]!)).to.equal('StoreCorrupt')
    expect(loaded[4]).to.deep.equal(loaded[0])
  })

  it('answers every load of a turn as unavailable when the statement fails, and loads again once the server answers', async function () {
    const store = await open()
    await store.append(userId(1), 0, { events: [charge(1, 10)], projection: { balance: 10, version: 1 }, receipts: [] })()
    const pool = (store as unknown as Queryable).pool
    const query = pool.query.bind(pool)
    Object.assign(pool, { query: () => Promise.reject(new Error('the server went away')) })
    const failed = await Promise.all([1, 2].map((user) => store.load(userId(user))()))
    expect(failed.map(tagOf)).to.deep.equal(['StoreUnavailable', 'StoreUnavailable'])
    Object.assign(pool, { query })
    expect(await store.load(userId(1))()).to.deep.equal(E.right({ balance: 10, version: 1 }))
  })

  it('lets an instance that keeps losing the race to a busier one through on its first locked retry', async function () {
    const limits = { maxAmount: 1_000, maxBalance: 1_000_000 }
    const [a, b] = await Promise.all([open({ poolSize: 4 }), open({ poolSize: 4 })])
    // One retry only: after one lost race, the row lock must be enough.
    const busy = createLedger({ store: a, limits, maxConflictRetries: 1 })
    const rare = createLedger({ store: b, limits, maxConflictRetries: 1 })
    expect(tagOf(await busy.charge(userId(1), amount(1))())).to.equal('Right')
    // Clients that send their next charge as soon as the last is answered keep the busy instance's writer full.
    const client = async (ledger: typeof busy, n: number, charges: number) => {
      const outcomes = []
      for (let i = 0; i < charges; i++) outcomes.push(await ledger.charge(userId(1), amount(n))())
      return outcomes
    }
    const runs = [...Array.from({ length: 20 }, () => client(busy, 1, 15)), ...Array.from({ length: 5 }, () => client(rare, 2, 6))]
    const outcomes = (await Promise.all(runs)).flat()
    expect(outcomes.filter(E.isLeft)).to.deep.equal([])
    const history = await a.history(userId(1))()
    expect(E.map((events: unknown[]) => events.length)(history)).to.deep.equal(E.right(331))
    expect(await a.load(userId(1))()).to.deep.equal(E.right({ balance: 361, version: 331 }))
  })

  it('never loses or duplicates an event when two instances append for one user at once', async function () {
    const limits = { maxAmount: 1_000, maxBalance: 1_000_000 }
    const [a, b] = await Promise.all([open({ poolSize: 4 }), open({ poolSize: 4 })])
    const ledgers = [a, b].map((store) => createLedger({ store, limits, ...sharedStoreRetries }))
    const amounts = Array.from({ length: 120 }, (_, i) => (i % 7) + 1)
    const outcomes = await Promise.all(amounts.map((n, i) => ledgers[i % 2]!.charge(userId(1), amount(n))()))
    expect(outcomes.filter(E.isLeft)).to.deep.equal([])

    const history = await a.history(userId(1))()
    const events = E.isRight(history) ? history.right : []
    expect(events.map((e) => e.amount).sort()).to.deep.equal([...amounts].sort())
    const total = amounts.reduce((x, y) => x + y, 0)
    expect(replay(events)).to.deep.equal({ balance: total, version: amounts.length })
    expect(await b.load(userId(1))()).to.deep.equal(E.right({ balance: total, version: amounts.length }))
    // Each answer is a running total of the log: the balance right after its own event.
    const running = events.reduce<number[]>((sums, e) => [...sums, (sums.at(-1) ?? 0) + e.amount], [])
    for (const outcome of outcomes) expect(running).to.include(E.isRight(outcome) ? outcome.right.point : -1)
  })
})

interface Relay {
  readonly url: string
  /** While frozen, every byte is dropped, both ways, as by a network that fails silently. */
  setFrozen(frozen: boolean): void
  close(): Promise<void>
}

/** A TCP relay in front of the database at `url`. */
async function relay(url: string): Promise<Relay> {
  const target = new URL(url)
  const sockets: Socket[] = []
  let frozen = false
  const pass = (from: Socket, to: Socket) => from.on('data', (bytes) => frozen || to.write(bytes))
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname)
    sockets.push(client, upstream)
    pass(client, upstream)
    pass(upstream, client)
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => undefined)
      a.on('close', () => b.destroy())
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const relayed = new URL(url)
  relayed.port = String((server.address() as AddressInfo).port)
  return {
    url: relayed.toString(),
    setFrozen: (value) => (frozen = value),
    close: async () => {
      sockets.forEach((socket) => socket.destroy())
      server.close()
      await once(server, 'close')
    },
  }
}

describe('postgres store faults', function () {
  // User 1's first charge, then a second one on top of it.
  const firstCharge = async (store: PostgresStore) => tagOf(await store.append(userId(1), 0, { events: [charge(1, 1)], projection: { balance: 1, version: 1 }, receipts: [] })())
  const secondCharge = async (store: PostgresStore) => tagOf(await store.append(userId(1), 1, { events: [charge(1, 2)], projection: { balance: 3, version: 2 }, receipts: [] })())

  it('cancels a statement that outlasts the statement timeout, a lock wait included: StoreUnavailable, nothing written', async function () {
    const database = await freshDatabase()
    const store = await openPostgresStore(database.url, { statementTimeoutMillis: 200 })
    const holder = new pg.Client({ connectionString: database.url })
    try {
      expect(await firstCharge(store)).to.equal('Right')
      await holder.connect()
      await holder.query('BEGIN')
      await holder.query('SELECT * FROM balances WHERE user_id = 1 FOR UPDATE')
      expect(await secondCharge(store)).to.equal('StoreUnavailable')
      await holder.query('ROLLBACK')
      // Written against the same version as the cancelled one: that one left nothing behind.
      expect(await secondCharge(store)).to.equal('Right')
      expect(await store.load(userId(1))()).to.deep.equal(E.right({ balance: 3, version: 2 }))
    } finally {
      await holder.end()
      await store.close()
      await database.drop()
    }
  })

  it('answers StoreUnavailable when the server stops answering, instead of waiting for TCP, and serves again after', async function () {
    const database = await freshDatabase()
    const network = await relay(database.url)
    const store = await openPostgresStore(network.url, { statementTimeoutMillis: 200 })
    try {
      expect(await firstCharge(store)).to.equal('Right')
      network.setFrozen(true)
      expect(await secondCharge(store)).to.equal('StoreUnavailable')
      expect(tagOf(await store.load(userId(1))())).to.equal('StoreUnavailable')
      network.setFrozen(false)
      expect(await secondCharge(store)).to.equal('Right')
    } finally {
      await store.close()
      await network.close()
      await database.drop()
    }
  })

  it('survives the server dropping its idle connections, and serves again on new ones', async function () {
    const database = await freshDatabase()
    const idleErrors: Error[] = []
    let allDropped = (): void => undefined
    let idle = Number.POSITIVE_INFINITY
    const store = await openPostgresStore(database.url, {
      onIdleError: (e) => {
        idleErrors.push(e)
        if (idleErrors.length === idle) allDropped()
      },
    })
    const admin = await openPostgresStore(database.url)
    try {
      await Promise.all([1, 2, 3].map((u) => store.load(userId(u))()))
      idle = (store as unknown as Queryable).pool.idleCount
      const dropped = new Promise<void>((resolve) => (allDropped = resolve))
      await (admin as unknown as Queryable).pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      )
      await dropped
      expect(idleErrors).to.have.lengthOf(idle)
      expect(await firstCharge(store)).to.equal('Right')
    } finally {
      await Promise.all([store.close(), admin.close()])
      await database.drop()
    }
  })

  // Only a server this run started can be stopped; a given DATABASE_URL is left alone.
  if (embedded) it('answers StoreUnavailable while the server is down and recovers by itself when it is back', async function () {
    this.timeout(60_000)
    const server = await postgresServer()
    const database = await freshDatabase()
    const store = await openPostgresStore(database.url, { connectTimeoutMillis: 500 })
    try {
      expect(await firstCharge(store)).to.equal('Right')
      await server.restart?.down()
      expect(await secondCharge(store)).to.equal('StoreUnavailable')
      expect(tagOf(await store.load(userId(1))())).to.equal('StoreUnavailable')
      await server.restart?.up()
      expect(await secondCharge(store)).to.equal('Right')
      expect(await store.load(userId(1))()).to.deep.equal(E.right({ balance: 3, version: 2 }))
    } finally {
      await store.close()
      await database.drop()
    }
  })
})
