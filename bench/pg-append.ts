import pg from 'pg'
import { parseArgs } from 'node:util'
import type { Amount, UserId } from '../src/events/model'
import { openPostgresStore } from '../src/stores/postgres'
import { claimAndWriteAll } from '../src/stores/postgres/sql/claim-and-write-all'
import type { AppendJob } from '../src/stores/sql/rows'
import { benchServer, postgresCpu, scratchDatabase } from './postgres-server'

/**
 * `npm run bench:pg-append`: what PostgreSQL spends per event on the store's batch statement
 * (src/stores/postgres/sql/claim-and-write-all.ts), against the same statement with one part taken out at a time
 * and against the prototype (a minimal table pair, one multi-row `unnest` upsert and insert, no lock step
 * and no look-up of the user's previous event), all in one run on one server. No HTTP and no Node work between
 * statements that matters: statements go one after another on one connection, each its own transaction, as the
 * store's one commit in flight sends them. Shapes: one hot user (one job of many events), and many users (jobs of
 * one event each, as 50 or 200 connections over 10,000 users fill a batch).
 * Prints PostgreSQL's CPU per event (every backend and background process of the embedded server: WAL writer,
 * checkpointer and autovacuum included) and the wall time per statement, medians of alternating rounds.
 * Options: --users, --seconds (per variant, shape and round), --rounds.
 */
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
  },
})
const users = Number(values.users)
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)

interface Shape {
  readonly name: string
  readonly jobs: number
  readonly eventsPerJob: number
}

const shapes: readonly Shape[] = [
  { name: '1 hot user, 50 events', jobs: 1, eventsPerJob: 50 },
  { name: '50 users, 1 event each', jobs: 50, eventsPerJob: 1 },
  { name: '200 users, 1 event each', jobs: 200, eventsPerJob: 1 },
]

/** What each user's next job is decided on; every variant keeps it, so they write one consistent log in turn. */
const states = new Map<number, { version: number; balance: number }>()

/** A user's next job: `events` charges of 1, on the state the user is at. */
function jobOf(user: number, events: number): AppendJob {
  const { version, balance } = states.get(user) ?? { version: 0, balance: 0 }
  const userId = user as UserId
  const timeMillis = Date.now()
  const charges = Array.from({ length: events }, () => ({ type: 'CHARGE' as const, userId, amount: 1 as Amount, timeMillis }))
  return { userId, expectedVersion: version, plan: { events: charges, projection: { version: version + events, balance: balance + events }, receipts: [] } }
}

function jobsFor(shape: Shape): AppendJob[] {
  const chosen = new Set<number>()
  while (chosen.size < shape.jobs) chosen.add(shape.jobs === 1 ? 1 : 1 + Math.floor(Math.random() * users))
  return [...chosen].sort((a, b) => a - b).map((user) => jobOf(user, shape.eventsPerJob))
}

const claimedAll = (jobs: readonly AppendJob[]) => {
  for (const { userId, plan } of jobs) states.set(userId, plan.projection)
}

/** The store's statement with its text changed by `edit`: the same arrays, one part of the work taken out. */
async function edited(db: pg.PoolClient, jobs: readonly AppendJob[], edit: (text: string) => string): Promise<number> {
  let sent: pg.QueryConfig | undefined
  const capture = { query: (config: pg.QueryConfig) => ((sent = config), Promise.resolve({ rows: [] })) }
  await claimAndWriteAll(capture as never, jobs, Date.now())
  const text = edit(sent!.text)
  if (text === sent!.text) throw new Error('the edit changed nothing: the statement moved on, update this bench')
  const { rows } = await db.query({ name: `edited-${text.length}`, text, values: sent!.values! })
  return rows.length
}

const withoutLockStep = (text: string) =>
  text
    .replace(/locked AS \([\s\S]*?FOR UPDATE OF b\n\s*\),\n\s*/, '')
    .replace('FROM locked l JOIN job j ON j.user_id = l.user_id\n         WHERE b.user_id = l.user_id AND', 'FROM job j\n         WHERE b.user_id = j.user_id AND')

const withoutPreviousEvent = (text: string) =>
  text
    .replace(/greatest\(max\(e\.time\) OVER \(PARTITION BY e\.user_id ORDER BY e\.n\), p\.time_millis\)/, 'e.time')
    .replace(/greatest\(pg_current_xact_id\(\), p\.tx\)/, 'pg_current_xact_id()')
    .replace(/\n\s*-- The user's event before the batch[^\n]*\n\s*LEFT JOIN events p ON p\.user_id = j\.user_id AND p\.version = j\.expected/, '')

const prototypeSchema = `
  CREATE TABLE proto_balances (user_id BIGINT PRIMARY KEY, point BIGINT NOT NULL, version INTEGER NOT NULL);
  CREATE TABLE proto_events (user_id BIGINT NOT NULL, version INTEGER NOT NULL, amount BIGINT NOT NULL, time_millis BIGINT NOT NULL, PRIMARY KEY (user_id, version));
`

/** The prototype: one statement, the version checked by the update, no lock step, no extra read. */
async function prototype(db: pg.PoolClient, jobs: readonly AppendJob[]): Promise<number> {
  const events = jobs.flatMap((job) => job.plan.events.map((event, i) => ({ userId: job.userId, version: job.expectedVersion + i + 1, event })))
  const { rows } = await db.query({
    name: 'prototype',
    text: `WITH job AS (SELECT * FROM unnest($1::bigint[], $2::integer[], $3::integer[], $4::bigint[]) AS j(user_id, expected, version, point)),
      updated AS (
        UPDATE proto_balances b SET point = j.point, version = j.version FROM job j
        WHERE b.user_id = j.user_id AND b.version = j.expected RETURNING b.user_id
      ),
      inserted AS (
        INSERT INTO proto_balances SELECT user_id, point, version FROM job WHERE expected = 0 ON CONFLICT DO NOTHING RETURNING user_id
      ),
      claimed AS (SELECT user_id FROM updated UNION ALL SELECT user_id FROM inserted),
      appended AS (
        INSERT INTO proto_events SELECT e.user_id, e.version, e.amount, e.time
        FROM unnest($5::bigint[], $6::integer[], $7::bigint[], $8::bigint[]) AS e(user_id, version, amount, time)
        WHERE e.user_id IN (SELECT user_id FROM claimed)
      )
      SELECT user_id FROM claimed`,
    values: [
      jobs.map((j) => j.userId),
      jobs.map((j) => j.expectedVersion),
      jobs.map((j) => j.plan.projection.version),
      jobs.map((j) => j.plan.projection.balance),
      events.map((e) => e.userId),
      events.map((e) => e.version),
      events.map((e) => e.event.amount),
      events.map((e) => e.event.timeMillis),
    ],
  })
  return rows.length
}

interface Variant {
  readonly name: string
  readonly run: (db: pg.PoolClient, jobs: readonly AppendJob[]) => Promise<number>
  /** Writes the prototype's own tables, with their own versions. */
  readonly own?: true
}

const variants: readonly Variant[] = [
  { name: "the store's statement", run: async (db, jobs) => (await claimAndWriteAll(db, jobs, Date.now())).size },
  { name: 'without the lock step (locked CTE)', run: (db, jobs) => edited(db, jobs, withoutLockStep) },
  { name: "without the previous event's look-up (time, tx)", run: (db, jobs) => edited(db, jobs, withoutPreviousEvent) },
  { name: 'without either', run: (db, jobs) => edited(db, jobs, (text) => withoutPreviousEvent(withoutLockStep(text))) },
  { name: "the issue's prototype (2 plain tables)", run: prototype, own: true },
]

interface Sample {
  readonly pgMicrosPerEvent: number
  readonly millisPerStatement: number
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

async function main(): Promise<void> {
  const server = await benchServer()
  try {
    const url = await scratchDatabase(server)
    // The store brings the schema up to date; its pool is not used after.
    await (await openPostgresStore(url)).close()
    const pool = new pg.Pool({ connectionString: url, max: 1 })
    const db = await pool.connect()
    await db.query(prototypeSchema)
    const pgCpu = await postgresCpu(url)
    if (pgCpu === undefined) throw new Error('PostgreSQL is not on this machine: its CPU cannot be read')
    const protoStates = new Map<number, { version: number; balance: number }>()
    const run = async (variant: Variant, jobs: AppendJob[]) => {
      // The prototype's tables have versions of their own.
      if (variant.own) jobs = jobs.map((job) => {
        const { version, balance } = protoStates.get(job.userId) ?? { version: 0, balance: 0 }
        const n = job.plan.events.length
        return { ...job, expectedVersion: version, plan: { ...job.plan, projection: { version: version + n, balance: balance + n } } }
      })
      const claimed = await variant.run(db, jobs)
      if (claimed !== jobs.length) throw new Error(`${variant.name}: ${jobs.length - claimed} jobs not claimed`)
      if (variant.own) for (const { userId, plan } of jobs) protoStates.set(userId, plan.projection)
      else claimedAll(jobs)
    }
    // Every user gets ten events first, so each batch updates existing rows in tables of a realistic size.
    console.log(`seeding ${users} users with 10 events each, in the store's tables and the prototype's`)
    for (let n = 0; n < 10; n++) {
      for (let first = 1; first <= users; first += 500) {
        const jobs = Array.from({ length: Math.min(500, users - first + 1) }, (_, i) => jobOf(first + i, 1))
        await run(variants[0]!, jobs)
        await run(variants[variants.length - 1]!, jobs)
      }
    }
    await db.query('VACUUM ANALYZE')
    const samples = new Map<string, Sample[]>()
    for (let round = 1; round <= rounds; round++) {
      for (const shape of shapes) {
        for (const variant of variants) {
          const cpuBefore = pgCpu()
          const started = performance.now()
          let statements = 0
          let events = 0
          while (performance.now() - started < seconds * 1000) {
            await run(variant, jobsFor(shape))
            statements++
            events += shape.jobs * shape.eventsPerJob
          }
          const sample = { pgMicrosPerEvent: (pgCpu() - cpuBefore) / events, millisPerStatement: (performance.now() - started) / statements }
          const key = `${shape.name}|${variant.name}`
          samples.set(key, [...(samples.get(key) ?? []), sample])
          console.log(`round ${round}: ${shape.name}: ${variant.name}: ${sample.pgMicrosPerEvent.toFixed(0)} µs PostgreSQL CPU/event, ${sample.millisPerStatement.toFixed(2)} ms/statement`)
        }
      }
    }
    console.table(
      shapes.flatMap((shape) => {
        const base = median(samples.get(`${shape.name}|${variants[0]!.name}`)!.map((s) => s.pgMicrosPerEvent))
        return variants.map((variant) => {
          const s = samples.get(`${shape.name}|${variant.name}`)!
          const cpu = median(s.map((x) => x.pgMicrosPerEvent))
          return {
            shape: shape.name,
            variant: variant.name,
            'PostgreSQL CPU µs/event': Math.round(cpu),
            "vs the store's": `${(cpu / base).toFixed(2)}x`,
            'ms/statement': Number(median(s.map((x) => x.millisPerStatement)).toFixed(2)),
          }
        })
      }),
    )
    db.release()
    await pool.end()
  } finally {
    await server.stop()
  }
}

void main()
