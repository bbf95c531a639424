import autocannon, { type Result } from 'autocannon'
import Sqlite from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { feedStart, type FeedPosition } from '../src/events/feed'
import type { PointStore } from '../src/events/store'
import { openPostgresStore } from '../src/stores/postgres'
import { schemaSteps } from '../src/stores/sql/schema-steps'
import { openSqliteStore } from '../src/stores/sqlite'
import { benchServer, cpuMicros, postgresCpu, scratchDatabase } from './postgres-server'
import { startServiceInstance, type ServiceInstance } from './service-process'
import { formatTable } from './table'

/**
 * `npm run bench:feed`: the change feed's costs, each row against its own baseline measured in the same run.
 * - pages: reading a 1,000,000-event log through the feed, 1,000 events a page, from the store and over HTTP;
 * - lag: from an event's decision stamp (just before its commit) to its arrival on an SSE stream, while writers
 *   load the service: one instance, and two on one PostgreSQL (events written through the stream's instance and
 *   through the other, which reach it by the poll);
 * - consumers: charges per second with 10 live SSE streams attached against none, rounds alternating;
 * - cost: charges per second on PostgreSQL with migration step 6's feed trigger put back against step 7, where the
 *   append statements do its work, rounds alternating.
 * Options: --sections pages,lag,consumers,cost  --events N  --duration s  --rounds n  --connections n
 *   --stores sqlite,postgres (the consumers section's stores)
 */
const { values } = parseArgs({
  options: {
    sections: { type: 'string', default: 'pages,lag,consumers,cost' },
    events: { type: 'string', default: '1000000' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    // The consumers section's charges at this many a second instead of as fast as they go: CPU per charge at a
    // fixed load, which says more than charges per second on a machine others share.
    rate: { type: 'string', default: '0' },
  },
})
const sections = new Set(values.sections.split(','))
const eventCount = Number(values.events)
const duration = Number(values.duration)
const rounds = Number(values.rounds)
const connections = Number(values.connections)
const storeNames = new Set(values.stores.split(','))
const rate = Number(values.rate)
const root = resolve(__dirname, '..')
const users = 10_000

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const percentile = (xs: readonly number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN
const rows: string[][] = []
const row = (...cells: Array<string | number>) => {
  rows.push(cells.map(String))
  console.log(cells.join(' | '))
}

const stop = (instances: readonly ServiceInstance[]) =>
  Promise.all(instances.map(({ child }) => new Promise((gone) => (child.exitCode === null ? child.once('exit', gone).kill() : gone(null)))))

/** Charges of 1 spread over many users, `connections` at once, for `seconds`; `answered` is told each user's new balance. */
function charges(
  url: string,
  seconds: number,
  user: () => number = () => 1 + Math.floor(Math.random() * users),
  answered?: (user: number, point: number) => void,
  overallRate = 0,
): Promise<Result> {
  return new Promise((done, fail) => {
    autocannon(
      {
        url,
        connections,
        duration: seconds,
        ...(overallRate > 0 ? { overallRate } : {}),
        requests: [
          {
            method: 'PATCH',
            setupRequest: (req) => ({ ...req, path: `/point/${user()}/charge`, body: '{"amount":1}', headers: { 'content-type': 'application/json' } }),
            ...(answered === undefined
              ? {}
              : {
                onResponse: (status: number, body: string) => {
                  if (status !== 200) return
                  const { id, point } = JSON.parse(body) as { id: number; point: number }
                  answered(id, point)
                },
              }),
          },
        ],
      },
      (error, result) => (error ? fail(error as Error) : done(result)),
    )
  })
}

/** An SSE consumer that counts what it gets and hands each event's data to `onEvent`. */
async function consume(url: string, onEvent: (data: string) => void = () => undefined): Promise<() => Promise<void>> {
  const abort = new AbortController()
  const response = await fetch(`${url}/events/stream`, { signal: abort.signal })
  const reading = (async () => {
    const decoder = new TextDecoder()
    let buffered = ''
    try {
      for await (const chunk of response.body ?? []) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true })
        let end: number
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const message = buffered.slice(0, end)
          buffered = buffered.slice(end + 2)
          const data = message.split('\n').find((line) => line.startsWith('data: '))
          if (data !== undefined) onEvent(data.slice(6))
        }
      }
    } catch {
      // Aborted.
    }
  })()
  return async () => {
    abort.abort()
    await reading
  }
}

async function walk(store: PointStore): Promise<{ pages: number; events: number; seconds: number }> {
  let after: FeedPosition = feedStart
  let pages = 0
  let events = 0
  const started = performance.now()
  for (;;) {
    const page = await store.feed!({ after, limit: 1_000 })()
    if (page._tag === 'Left') throw new Error('the feed failed')
    pages += 1
    events += page.right.length
    if (page.right.length < 1_000) break
    after = page.right.at(-1)!.position
  }
  return { pages, events, seconds: (performance.now() - started) / 1000 }
}

async function walkHttp(url: string): Promise<{ pages: number; events: number; seconds: number }> {
  let after = '0'
  let pages = 0
  let events = 0
  const started = performance.now()
  for (;;) {
    const page = (await (await fetch(`${url}/events?after=${after}&limit=1000`)).json()) as { events: unknown[]; next: string }
    pages += 1
    events += page.events.length
    if (page.events.length < 1_000) break
    after = page.next
  }
  return { pages, events, seconds: (performance.now() - started) / 1000 }
}

const pagesRow = (what: string, { pages, events, seconds }: { pages: number; events: number; seconds: number }) =>
  row('pages', what, `${Math.round(pages / seconds)} pages/s`, `${Math.round(events / seconds)} events/s`, `${pages} pages, ${events} events, ${seconds.toFixed(1)} s`)

async function pagesSection(databaseUrl: () => Promise<string>, dir: string): Promise<void> {
  // SQLite: the log written in one statement, then read back page by page.
  const path = join(dir, 'feed-pages.db')
  openSqliteStore(path).close().catch(() => undefined)
  const db = new Sqlite(path)
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${eventCount})
    INSERT INTO events (id, user_id, version, type, amount, time_millis, balance_after)
    SELECT i, (i % ${users}) + 1, (i / ${users}) + 1, 'CHARGE', 1, i, (i / ${users}) + 1 FROM n`)
  db.close()
  const sqlite = openSqliteStore(path)
  pagesRow(`SQLite store.feed over ${eventCount} events`, await walk(sqlite))
  await sqlite.close()
  const sqliteService = await startServiceInstance({ POINT_STORE: 'sqlite', SQLITE_PATH: path })
  pagesRow(`SQLite GET /events over ${eventCount} events`, await walkHttp(sqliteService.url))
  await stop([sqliteService])

  // PostgreSQL: the same log, written by 100 transactions, so pages cross transactions as they would.
  const url = await databaseUrl()
  const postgres = await openPostgresStore(url)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const per = Math.ceil(eventCount / 100)
  for (let from = 0; from < eventCount; from += per) {
    await client.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after)
      SELECT (i % ${users}) + 1, (i / ${users}) + 1, 'CHARGE', 1, i, (i / ${users}) + 1 FROM generate_series(${from + 1}, ${Math.min(eventCount, from + per)}) AS i`)
  }
  await client.query('VACUUM ANALYZE events')
  const sizes = await client.query<{ index: string; table: string }>(`SELECT pg_size_pretty(pg_relation_size('events_by_feed')) AS index, pg_size_pretty(pg_relation_size('events')) AS table`)
  await client.end()
  pagesRow(`PostgreSQL store.feed over ${eventCount} events`, await walk(postgres))
  await postgres.close()
  const pgService = await startServiceInstance({ POINT_STORE: 'postgres', DATABASE_URL: url })
  pagesRow(`PostgreSQL GET /events over ${eventCount} events`, await walkHttp(pgService.url))
  await stop([pgService])
  row('pages', `PostgreSQL feed index (tx, id) on ${eventCount} events`, sizes.rows[0]!.index, `table ${sizes.rows[0]!.table}`, 'pg_relation_size')
}

/**
 * Lags of the events a stream on `instances[0]` gets while writers load every instance, by the instance written
 * through: from the writer's 200 (sent after the commit) to the event's arrival on the stream. Every charge is 1
 * on a fresh log, so a user's n-th event is the charge answered with balance n. Negative when the stream is first.
 */
async function lags(instances: readonly ServiceInstance[]): Promise<number[][]> {
  const acked = new Map<string, number>()
  const arrived = new Map<string, number>()
  const counts = new Map<number, number>()
  const stopConsumer = await consume(instances[0]!.url, (data) => {
    const { event } = JSON.parse(data) as { event: { userId: number } }
    const n = (counts.get(event.userId) ?? 0) + 1
    counts.set(event.userId, n)
    arrived.set(`${event.userId}:${n}`, performance.now())
  })
  // Each user is written through one instance only, so its events say which.
  await Promise.all(
    instances.map((instance, i) =>
      charges(
        instance.url,
        duration,
        () => {
          const n = Math.floor(Math.random() * (users / instances.length))
          return n * instances.length + i || instances.length
        },
        (user, point) => acked.set(`${user}:${point}`, performance.now()),
      ),
    ),
  )
  await sleep(1_000)
  await stopConsumer()
  const byInstance: number[][] = instances.map(() => [])
  for (const [key, at] of acked) {
    const got = arrived.get(key)
    if (got !== undefined) byInstance[Number(key.split(':')[0]) % instances.length]!.push(Math.round(got - at))
  }
  return byInstance
}

const lagRow = (what: string, xs: readonly number[]) => row('lag', what, `p50 ${percentile(xs, 50)} ms`, `p99 ${percentile(xs, 99)} ms`, `${xs.length} events, from the writer's 200`)

async function lagSection(databaseUrl: () => Promise<string>, dir: string): Promise<void> {
  const sqlite = await startServiceInstance({ POINT_STORE: 'sqlite', SQLITE_PATH: join(dir, 'feed-lag.db') })
  lagRow('SQLite, 1 instance', (await lags([sqlite]))[0]!)
  await stop([sqlite])

  const one = await startServiceInstance({ POINT_STORE: 'postgres', DATABASE_URL: await databaseUrl() })
  lagRow('PostgreSQL, 1 instance', (await lags([one]))[0]!)
  await stop([one])

  const url = await databaseUrl()
  const two = [await startServiceInstance({ POINT_STORE: 'postgres', DATABASE_URL: url }), await startServiceInstance({ POINT_STORE: 'postgres', DATABASE_URL: url })]
  const [own, other] = await lags(two)
  lagRow('PostgreSQL, 2 instances: written through the stream\'s instance', own!)
  lagRow('PostgreSQL, 2 instances: written through the other (FEED_POLL_MS 100)', other!)
  await stop(two)
}

/** Alternating rounds of `a` and `b`; the median of each, and b against a. */
async function alternate(a: () => Promise<number>, b: () => Promise<number>): Promise<{ a: number; b: number }> {
  const as: number[] = []
  const bs: number[] = []
  for (let round = 0; round < rounds; round++) {
    as.push(await a())
    bs.push(await b())
  }
  return { a: median(as), b: median(bs) }
}

const ratio = (b: number, a: number) => `${((b / a - 1) * 100).toFixed(1)}%`

async function consumersSection(databaseUrl: () => Promise<string>, dir: string): Promise<void> {
  const stores = [
    ['SQLite', { POINT_STORE: 'sqlite', SQLITE_PATH: join(dir, 'feed-consumers.db') }],
    ['PostgreSQL', { POINT_STORE: 'postgres', DATABASE_URL: await databaseUrl() }],
  ] as const
  for (const [name, env] of stores.filter(([, env]) => storeNames.has(env.POINT_STORE))) {
    const instance = await startServiceInstance(env)
    const postgres = env.POINT_STORE === 'postgres' ? await postgresCpu(env.DATABASE_URL) : undefined
    // One process of consumers for the whole section, warm before the first round: its streams open for each
    // round with streams and close after it.
    const consumers = spawn(process.execPath, ['--import', 'tsx', 'bench/feed-consumers.ts', instance.url, '10'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = createInterface({ input: consumers.stdout })
    const told = () => new Promise<string>((line) => lines.once('line', line))
    const tell = async (what: string) => {
      const answer = told()
      consumers.stdin.write(`${what}\n`)
      return answer
    }
    await tell('open')
    await charges(instance.url, 2)
    await tell('close')
    let delivered = 0
    const cpu = { none: [] as number[], ten: [] as number[], consumers: [] as number[] }
    const round = async (into: number[]) => {
      // A second of load first, unmeasured: the streams' opening (the consumers page to the feed's end) leaves the
      // server work and garbage that are no part of keeping streams fed.
      await charges(instance.url, 1, undefined, undefined, rate)
      const before = cpuMicros(instance.child.pid!) + (postgres?.() ?? 0)
      const consumersBefore = cpuMicros(consumers.pid!)
      const result = await charges(instance.url, duration, undefined, undefined, rate)
      into.push((cpuMicros(instance.child.pid!) + (postgres?.() ?? 0) - before) / result.requests.total)
      if (into === cpu.ten) cpu.consumers.push((cpuMicros(consumers.pid!) - consumersBefore) / result.requests.total)
      return result.requests.average
    }
    const none = () => round(cpu.none)
    const ten = async () => {
      await tell('open')
      const rps = await round(cpu.ten)
      delivered += Number((await tell('close')).split(' ')[1])
      return rps
    }
    const { a, b } = await alternate(none, ten)
    const server = postgres === undefined ? 'node' : 'node + PostgreSQL'
    row(
      'consumers',
      `${name}: charges/s, 10 SSE streams vs none`,
      `${Math.round(b)} vs ${Math.round(a)}`,
      ratio(b, a),
      `${Math.round(delivered / 1e6)} MB streamed; ${connections} conn${rate > 0 ? ` at ${rate}/s` : ''}; ${server} CPU ${Math.round(median(cpu.ten))} vs ${Math.round(median(cpu.none))} µs/charge, the consumers' ${Math.round(median(cpu.consumers))}`,
    )
    consumers.kill('SIGTERM')
    await stop([instance])
  }
}

/**
 * What the trigger of migration step 6 cost the writers: a database at step 7, where the append statements raise
 * each event's feed transaction themselves, against the same with step 6's trigger put back (it then raises the
 * value again, to the same result). Same server, same code, rounds alternating.
 */
async function costSection(databaseUrl: () => Promise<string>): Promise<void> {
  const without = await databaseUrl()
  const withTrigger = await databaseUrl()
  const migrated = await openPostgresStore(withTrigger)
  await migrated.close()
  const client = new pg.Client({ connectionString: withTrigger })
  await client.connect()
  await client.query(schemaSteps.find(({ version }) => version === 6)!.postgres.replace(/^[\s\S]*?(CREATE FUNCTION events_feed_tx)/, '$1'))
  await client.end()
  const a = await startServiceInstance({ POINT_STORE: 'postgres', DATABASE_URL: without })
  const b = await startServiceInstance({ POINT_STORE: 'postgres', DATABASE_URL: withTrigger })
  const postgres = await postgresCpu(without)
  await charges(a.url, 2)
  await charges(b.url, 2)
  const cpu = new Map<ServiceInstance, number[]>([[a, []], [b, []]])
  const round = async (instance: ServiceInstance) => {
    const before = cpuMicros(instance.child.pid!) + (postgres?.() ?? 0)
    const result = await charges(instance.url, duration)
    cpu.get(instance)!.push((cpuMicros(instance.child.pid!) + (postgres?.() ?? 0) - before) / result.requests.total)
    return result.requests.average
  }
  const result = await alternate(() => round(a), () => round(b))
  const perCharge = (instance: ServiceInstance) => Math.round(median(cpu.get(instance)!))
  row(
    'cost',
    'PostgreSQL charges/s with the step-6 feed trigger put back vs without it (step 7)',
    `${Math.round(result.b)} vs ${Math.round(result.a)}`,
    ratio(result.b, result.a),
    `${connections} conn, 10k users; node + PostgreSQL CPU ${perCharge(b)} vs ${perCharge(a)} µs/charge`,
  )
  await stop([a, b])
}

async function main(): Promise<void> {
  const server = await benchServer()
  const dir = mkdtempSync(join(tmpdir(), 'bench-feed-'))
  const databaseUrl = () => scratchDatabase(server)
  try {
    console.log(`sections ${[...sections].join(', ')}; ${duration} s runs, ${rounds} rounds, ${connections} connections`)
    if (sections.has('pages')) await pagesSection(databaseUrl, dir)
    if (sections.has('lag')) await lagSection(databaseUrl, dir)
    if (sections.has('consumers')) await consumersSection(databaseUrl, dir)
    if (sections.has('cost')) await costSection(databaseUrl)
    console.log(`\n${formatTable(['section', 'row', 'figure', 'against', 'notes'], rows)}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await server.stop()
  }
}

void main()
