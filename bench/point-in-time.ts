import autocannon, { type Result } from 'autocannon'
import * as E from 'fp-ts/Either'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import type { PointEvent, UserId } from '../src/events/model'
import type { PointStore } from '../src/events/store'
import { createReads } from '../src/projections/reads'
import { delegating } from '../src/stores/delegating'
import { openPostgresStore } from '../src/stores/postgres'
import { claimAndWrite } from '../src/stores/postgres/sql/claim-and-write'
import { openDatabase, SqliteStore } from '../src/stores/sqlite'
import { prepareCatalogue } from '../src/stores/sqlite/catalogue'
import { benchServer, scratchDatabase } from './postgres-server'
import { startServiceInstance, type ServiceInstance } from './service-process'
import { formatTable } from './table'

/**
 * `npm run bench:at`: `GET /point/{id}?at=` on a user with 1,000,000 events against a plain
 * `GET /point/{id}` of the same user, in the same run, on the service as `npm start` runs it.
 * The log is written straight through the store's own insert statements, in one transaction.
 * Before the lookup, one such read folded the whole log: 3.2 s and +316 MB RSS per call.
 * Options: --events, --duration (s), --rounds, --connections, --stores sqlite,postgres
 * (PostgreSQL: DATABASE_URL's server, else an embedded one). Server RSS from /proc: Linux only.
 */
const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    stores: { type: 'string', default: 'sqlite,postgres' },
  },
})
const total = Number(values.events)
const duration = Number(values.duration)
const rounds = Number(values.rounds)
const connections = Number(values.connections)
const hot = 1 as UserId
const firstMillis = 1_700_000_000_000
/** Events one statement appends while the log is built. */
const chunk = 10_000

/** Charges of 2 and uses of 1 in turn, a millisecond apart: the balance after event i (from 0) is known. */
const eventAt = (i: number): PointEvent => ({ type: i % 2 === 0 ? 'CHARGE' : 'USE', userId: hot, amount: (i % 2 === 0 ? 2 : 1) as PointEvent['amount'], timeMillis: firstMillis + i })
const balanceAfter = (i: number): number => Math.floor(i / 2) + (i % 2 === 0 ? 2 : 1)

/** Each chunk of the log as a plan the store appends: its events and the state they lead to. */
function* chunks(): Generator<{ version: number; plan: { events: PointEvent[]; projection: { balance: number; version: number }; receipts: [] } }> {
  for (let start = 0; start < total; start += chunk) {
    const events = Array.from({ length: Math.min(chunk, total - start) }, (_, k) => eventAt(start + k))
    const last = start + events.length - 1
    yield { version: start, plan: { events, projection: { balance: balanceAfter(last), version: last + 1 }, receipts: [] } }
  }
}

function buildSqlite(path: string): number {
  const started = performance.now()
  const db = openDatabase(path)
  const sql = prepareCatalogue(db)
  db.transaction(() => {
    for (const { version, plan } of chunks()) sql.insertEvents(hot, version, plan)
  })()
  db.close()
  return (performance.now() - started) / 1000
}

async function buildPostgres(url: string): Promise<number> {
  const started = performance.now()
  // Opening the store applies the schema; the log is then appended with its own claim-and-write statement.
  await (await openPostgresStore(url)).close()
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('BEGIN')
    for (const { version, plan } of chunks()) {
      if (!(await claimAndWrite(client, { userId: hot, expectedVersion: version, plan }, Date.now()))) throw new Error('the bench log could not be written')
    }
    await client.query('COMMIT')
    await client.query('ANALYZE events')
  } finally {
    await client.end()
  }
  return (performance.now() - started) / 1000
}

/** Resident memory of a process, in MiB, from /proc (Linux). */
const rssMiB = (child: ChildProcess): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid!}/status`, 'utf8'))?.[1]) / 1024

interface Row {
  readonly name: string
  readonly path: string
}

const rows: readonly Row[] = [
  { name: 'GET /point/1 (plain)', path: '/point/1' },
  { name: '?at= mid-log (event 500,000)', path: `/point/1?at=${firstMillis + Math.floor(total / 2)}` },
  { name: '?at= after the last event', path: `/point/1?at=${firstMillis + total + 1_000}` },
  { name: '?at= before the first event', path: `/point/1?at=${firstMillis - 1}` },
]

interface Sample {
  readonly result: Result
  readonly peakRss: number
}

async function measure(server: ServiceInstance, row: Row, seconds: number): Promise<Sample> {
  let peakRss = rssMiB(server.child)
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(server.child))), 50)
  const result = await new Promise<Result>((done, fail) =>
    autocannon({ url: `${server.url}${row.path}`, connections, duration: seconds }, (error, r) => (error ? fail(error as Error) : done(r))),
  )
  clearInterval(sampler)
  return { result, peakRss }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

/** One answer checked against the log it came from, so the table never times a wrong answer. */
async function check(server: ServiceInstance): Promise<void> {
  const mid = Math.floor(total / 2)
  const body = (await (await fetch(`${server.url}/point/1?at=${firstMillis + mid}`)).json()) as { point: number; updateMillis: number }
  if (body.point !== balanceAfter(mid) || body.updateMillis !== firstMillis + mid) throw new Error(`wrong ?at= answer: ${JSON.stringify(body)}`)
}

async function runStore(name: string, env: Record<string, string>, built: number): Promise<string[][]> {
  const server = await startServiceInstance(env)
  try {
    await check(server)
    for (const row of rows) await measure(server, row, 1)
    const samples = new Map<Row, Sample[]>(rows.map((row) => [row, []]))
    // Rounds go over all rows in turn, so a noisy neighbour hits every row alike.
    for (let round = 1; round <= rounds; round++) for (const row of rows) samples.get(row)!.push(await measure(server, row, duration))
    const figures = rows.map((row) => {
      const taken = samples.get(row)!
      return {
        row,
        rps: median(taken.map((s) => s.result.requests.average)),
        p50: median(taken.map((s) => s.result.latency.p50)),
        p99: median(taken.map((s) => s.result.latency.p99)),
        rss: Math.max(...taken.map((s) => s.peakRss)),
        failed: taken.reduce((n, s) => n + s.result.non2xx + s.result.errors, 0),
      }
    })
    const plain = figures[0]!
    return figures.map((f) => [
      name,
      f.row.name,
      Math.round(f.rps).toLocaleString('en'),
      `${(f.rps / plain.rps).toFixed(2)}x`,
      String(f.p50),
      String(f.p99),
      f.rss.toFixed(0),
      String(f.failed),
      f === plain ? `${built.toFixed(1)} s` : '',
    ])
  } finally {
    server.child.kill()
  }
}

/** One call each way in this process, on the same file: the lookup, and the fold it replaced. */
async function foldAgainstLookup(path: string): Promise<string> {
  const store = new SqliteStore(openDatabase(path))
  // The same store without its lookups (the balance alone, and with its holds): reads then fold the history, as
  // they did before them.
  const folding: PointStore = { ...delegating(store), balanceAt: undefined, balanceWithHolds: undefined }
  const at = firstMillis + total
  const timed = async (reads: ReturnType<typeof createReads>) => {
    const rss = process.memoryUsage().rss
    const started = performance.now()
    const answer = await reads.balanceAt(hot, at)()
    if (E.isLeft(answer)) throw new Error('the read failed')
    return { millis: performance.now() - started, rss: (process.memoryUsage().rss - rss) / 2 ** 20, point: answer.right.point }
  }
  const lookup = await timed(createReads(store))
  const fold = await timed(createReads(folding))
  await store.close()
  if (lookup.point !== fold.point) throw new Error('the lookup and the fold disagree')
  return `one ?at= call in-process, SQLite: lookup ${lookup.millis.toFixed(2)} ms; the fold it replaced ${fold.millis.toFixed(0)} ms, +${fold.rss.toFixed(0)} MiB RSS`
}

async function main(): Promise<void> {
  const stores = new Set(values.stores.split(','))
  const dir = mkdtempSync(join(tmpdir(), 'point-ledger-at-'))
  const table: string[][] = []
  const notes: string[] = []
  try {
    console.log(`${total.toLocaleString('en')} events for user 1; ${rounds} rounds of ${duration} s per row, ${connections} connections`)
    if (stores.has('sqlite')) {
      const path = join(dir, 'points.db')
      const built = buildSqlite(path)
      table.push(...(await runStore('SQLite', { POINT_STORE: 'sqlite', SQLITE_PATH: path }, built)))
      notes.push(await foldAgainstLookup(path))
    }
    if (stores.has('postgres')) {
      const server = await benchServer()
      try {
        const url = await scratchDatabase(server)
        const built = await buildPostgres(url)
        table.push(...(await runStore('PostgreSQL', { POINT_STORE: 'postgres', DATABASE_URL: url }, built)))
      } finally {
        await server.stop()
      }
    }
    console.log(formatTable(['store', 'row', 'req/s', 'vs plain', 'p50 ms', 'p99 ms', 'server RSS MiB', 'non-2xx', 'log built in'], table))
    for (const note of notes) console.log(note)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

void main()
