import * as E from 'fp-ts/Either'
import { parseArgs } from 'node:util'
import pg, { type Pool } from 'pg'
import { decider, evolve, type Decide, type PointState } from '../src/events/decider'
import type { Amount, Charge, PointEvent, UserId } from '../src/events/model'

/** The benchmark only charges. */
type Command = Charge
import { createLedger } from '../src/projections/ledger'
import { sharedStoreRetries } from '../src/stores/conflict-backoff'
import { openPostgresStore } from '../src/stores/postgres'
import { migratePostgres } from '../src/stores/postgres/schema'
import { benchServer, scratchDatabase } from './postgres-server'
import { formatTable } from './table'

/**
 * `npm run bench:pg-lock`: how two ways of keeping instances from deciding for one user at once
 * compare on PostgreSQL, with no HTTP in the way.
 * - optimistic: the service's writer and store. Decide on the state held in memory, append with the
 *   expected version; appends of one turn share a transaction. A batch that lost a race is decided again
 *   under the row's lock (`appendLocked`), so a busier rival cannot starve it.
 * - row lock: a writer that exists only for this comparison. Per batch: BEGIN, SELECT … FOR UPDATE on the
 *   balance row, decide, insert the events, update the row, COMMIT. It never loses a race; it waits instead.
 * Each "instance" is its own pool and writers, driven from this process by closed-loop clients
 * (a client sends its next charge when the last is answered). Every run ends with a check that each
 * user's log and projection agree and that the log holds exactly the accepted charges.
 * Options: --duration (s), --rounds, --clients (in flight over all instances), --users (for the spread rows).
 */
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '50' },
    users: { type: 'string', default: '1000' },
    'pool-size': { type: 'string', default: '10' },
  },
})
const duration = Number(values.duration) * 1000
const rounds = Number(values.rounds)
const clients = Number(values.clients)
const spreadUsers = Number(values.users)
const poolSize = Number(values['pool-size'])
const limits = { maxAmount: 1_000_000, maxBalance: Number.MAX_SAFE_INTEGER }

type Strategy = 'optimistic' | 'row lock'
type Outcome = 'accepted' | 'rejected' | 'failed'

/** One service instance as the clients see it. */
interface Instance {
  readonly submit: (command: Command) => Promise<Outcome>
  readonly close: () => Promise<void>
}

interface Counters {
  /** Transactions the instances ran. */
  commits: number
  /** Races the optimistic writers lost and re-decided. */
  retries: number
}

async function optimistic(url: string, counters: Counters): Promise<Instance> {
  const store = await openPostgresStore(url, {
    poolSize,
    onCommit: () => void counters.commits++,
  })
  const ledger = createLedger({
    store,
    limits,
    ...sharedStoreRetries,
    conflictBackoff: (attempt) => {
      counters.retries++
      return sharedStoreRetries.conflictBackoff(attempt)
    },
  })
  return {
    submit: async (command) => outcomeOf(await ledger.charge(command.userId, command.amount)()),
    close: () => store.close(),
  }
}

const outcomeOf = (result: E.Either<{ _tag: string }, unknown>): Outcome =>
  E.isRight(result) ? 'accepted' : result.left._tag === 'Rejection' ? 'rejected' : 'failed'

/** The pessimistic writer: still one batch at a time per user, each batch decided under the row's lock. */
function rowLock(url: string, counters: Counters): Instance {
  const pool = new pg.Pool({ connectionString: url, max: poolSize })
  const decide = decider(limits)
  const queues = new Map<UserId, { command: Command; answer: (outcome: Outcome) => void }[]>()

  const drain = async (userId: UserId): Promise<void> => {
    for (let queue = queues.get(userId)!; queue.length > 0; ) {
      // Like the store's group commit, wait out the turn so commands answered a moment ago can rejoin this batch.
      await new Promise((turn) => setImmediate(turn))
      const batch = queue.splice(0)
      const outcomes = await lockedBatch(pool, decide, userId, batch.map((p) => p.command)).catch(() => batch.map((): Outcome => 'failed'))
      counters.commits++
      batch.forEach((p, i) => p.answer(outcomes[i]!))
    }
    queues.delete(userId)
  }

  return {
    submit: (command) =>
      new Promise((answer) => {
        const queue = queues.get(command.userId)
        if (queue !== undefined) return void queue.push({ command, answer })
        queues.set(command.userId, [{ command, answer }])
        void drain(command.userId)
      }),
    close: () => pool.end(),
  }
}

async function lockedBatch(pool: Pool, decide: Decide, userId: UserId, commands: Command[]): Promise<Outcome[]> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    // The bench seeds every user's row first; a production variant would also need a lock for a user's first command.
    // Named like the store's statements, so both sides plan each statement once per connection.
    const { rows } = await client.query<{ point: string; version: number }>({
      name: 'lock-balance',
      text: 'SELECT point, version FROM balances WHERE user_id = $1 FOR UPDATE',
      values: [userId],
    })
    const start: PointState = { balance: Number(rows[0]!.point), version: rows[0]!.version }
    const now = Date.now()
    let state = start
    const events: PointEvent[] = []
    const balances: number[] = []
    const outcomes = commands.map((command): Outcome => {
      const decided = decide(command, state, now)
      if (E.isLeft(decided)) return 'rejected'
      for (const event of decided.right) {
        events.push(event)
        state = evolve(state, event)
        balances.push(state.balance)
      }
      return 'accepted'
    })
    if (events.length > 0) {
      await client.query({
        name: 'insert-events',
        text: `INSERT INTO events (user_id, version, type, amount, time_millis, balance_after)
               SELECT $1, $2 + e.n, e.type, e.amount, $5, e.balance
               FROM unnest($3::text[], $4::bigint[], $6::bigint[]) WITH ORDINALITY AS e(type, amount, balance, n)`,
        values: [userId, start.version, events.map((e) => e.type), events.map((e) => e.amount), now, balances],
      })
      await client.query({
        name: 'update-balance',
        text: 'UPDATE balances SET point = $2, version = $3, update_millis = $4 WHERE user_id = $1',
        values: [userId, state.balance, state.version, now],
      })
    }
    await client.query('COMMIT')
    return outcomes
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  } finally {
    client.release()
  }
}

interface Row {
  readonly strategy: Strategy
  readonly instances: number
  readonly users: number
}

const rows: Row[] = (['optimistic', 'row lock'] as const).flatMap((strategy) =>
  [1, 2].flatMap((instances) => [1, spreadUsers].map((users) => ({ strategy, instances, users }))),
)

interface Sample {
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
  readonly failed: number
  readonly perCommit: number
  readonly retries: number
}

/** The schema, and one event for every user, so a row exists for the lock to take. */
async function seed(url: string, users: number): Promise<void> {
  const client = new pg.Pool({ connectionString: url, max: 1 })
  try {
    await migratePostgres(client)
    await client.query(
      `INSERT INTO events (user_id, version, type, amount, time_millis, balance_after) SELECT g, 1, 'CHARGE', 1, 0, 1 FROM generate_series(1, $1::int) g`,
      [users],
    )
    await client.query('INSERT INTO balances (user_id, point, version, update_millis) SELECT g, 1, 1, 0 FROM generate_series(1, $1::int) g', [users])
  } finally {
    await client.end()
  }
}

/** The log and the projection agree, and the log holds the seed plus exactly the accepted charges. */
async function check(url: string, users: number, accepted: number): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows: wrong } = await client.query(
      `SELECT b.user_id FROM balances b JOIN (SELECT user_id, count(*) AS n, max(version) AS v, sum(amount) AS s FROM events GROUP BY user_id) e
       USING (user_id) WHERE e.n <> b.version OR e.v <> b.version OR e.s <> b.point`,
    )
    const { rows: counted } = await client.query<{ n: string }>('SELECT count(*) AS n FROM events')
    if (wrong.length > 0) throw new Error(`${wrong.length} users' projections disagree with their logs`)
    if (Number(counted[0]!.n) !== users + accepted) throw new Error(`the log holds ${counted[0]!.n} events for ${users} + ${accepted}`)
  } finally {
    await client.end()
  }
}

async function run(url: string, row: Row, millis: number): Promise<Sample> {
  await seed(url, row.users)
  const counters: Counters = { commits: 0, retries: 0 }
  const open = (): Promise<Instance> => (row.strategy === 'optimistic' ? optimistic(url, counters) : Promise.resolve(rowLock(url, counters)))
  const instances = await Promise.all(Array.from({ length: row.instances }, open))
  const latencies: number[] = []
  let accepted = 0
  let failed = 0
  const deadline = performance.now() + millis
  const client = async (instance: Instance) => {
    while (performance.now() < deadline) {
      const userId = (1 + Math.floor(Math.random() * row.users)) as UserId
      const sent = performance.now()
      const outcome = await instance.submit({ type: 'Charge', userId, amount: 1 as Amount })
      latencies.push(performance.now() - sent)
      if (outcome === 'accepted') accepted++
      else failed++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: clients }, (_, i) => client(instances[i % instances.length]!)))
  const elapsed = (performance.now() - started) / 1000
  await Promise.all(instances.map((instance) => instance.close()))
  await check(url, row.users, accepted)
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN
  return {
    perSecond: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    failed,
    perCommit: accepted / counters.commits,
    retries: counters.retries / Math.max(1, latencies.length),
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const label = (row: Row) => `${row.strategy}, ${row.instances} instance${row.instances > 1 ? 's' : ''}, ${row.users === 1 ? 'hot user' : `${row.users} users`}`

async function main(): Promise<void> {
  const server = await benchServer()
  try {
    console.log(`${rounds} rounds of ${duration / 1000} s per row, ${clients} clients in flight, pool ${poolSize} per instance (1 s warm-up per row)`)
    const samples = new Map<Row, Sample[]>(rows.map((row) => [row, []]))
    for (const row of rows) await run(await scratchDatabase(server), row, 1000)
    for (let round = 1; round <= rounds; round++) {
      // Rounds go over all rows in turn, so a noisy neighbour hits every row alike.
      for (const row of rows) {
        const sample = await run(await scratchDatabase(server), row, duration)
        samples.get(row)!.push(sample)
        console.log(`round ${round}: ${label(row)}: ${Math.round(sample.perSecond)} charges/s, p99 ${sample.p99.toFixed(1)} ms`)
      }
    }
    const baseOf = (row: Row) => samples.get(rows.find((r) => r.strategy === 'optimistic' && r.instances === row.instances && r.users === row.users)!)!
    console.log(
      formatTable(
        ['row', 'charges/s', 'p50 ms', 'p99 ms', 'vs optimistic', 'charges/commit', 'retries/charge', 'failed'],
        rows.map((row) => {
          const s = samples.get(row)!
          const perSecond = median(s.map((x) => x.perSecond))
          return [
            label(row),
            String(Math.round(perSecond)),
            median(s.map((x) => x.p50)).toFixed(1),
            median(s.map((x) => x.p99)).toFixed(1),
            `${(perSecond / median(baseOf(row).map((x) => x.perSecond))).toFixed(2)}x`,
            median(s.map((x) => x.perCommit)).toFixed(1),
            row.strategy === 'optimistic' ? median(s.map((x) => x.retries)).toFixed(3) : '',
            String(s.reduce((n, x) => n + x.failed, 0)),
          ]
        }),
      ),
    )
  } finally {
    await server.stop()
  }
}

void main()
