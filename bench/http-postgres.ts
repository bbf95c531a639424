import autocannon, { type Request, type Result } from 'autocannon'
import { spawn, type ChildProcess } from 'node:child_process'
import { loadavg } from 'node:os'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { freePort } from '../tools/embedded-postgres'
import { compiledScript } from './compiled'
import { benchServer, cpuMicros, postgresCpu, scratchDatabase } from './postgres-server'

/**
 * `npm run bench:http:postgres`: the charge endpoint on PostgreSQL, one instance and
 * two on one database, against the bare Koa reference measured in the same run, for a
 * hot user and for 10,000 users, at each connection count. Uses DATABASE_URL's server
 * (a scratch database is created on it) or starts an embedded one.
 * Beside them, a conventional hand-written service on the same server (bench/conventional-postgres.ts: plain
 * Koa, one transaction per request), and at the end each goal of issue 15 that these rows decide, met or not.
 * `npm run bench:http -- --store postgres` or `npm run bench:http:postgres`.
 * Prints each row's server CPU per request too (from /proc, so Linux only), the PostgreSQL server's beside it when it
 * runs on this machine, and the load average around the run.
 * The floor rows (bench/server.ts `floor-postgres`: bare Koa appending through the store, no ledger) bound what any
 * request path can reach on this schema and store; the goals' table prints each goal's floor beside it. The stack's
 * floor (`floor-minimal-postgres`: bare Koa appending to a one-table log) bounds any ledger on this stack that commits
 * with one statement in flight; the libraries' floor (`floor-libraries-postgres`: the same behind the libraries the
 * service keeps, at their cheapest, and no request line, as the instances here run at LOG_LEVEL=warn) bounds any
 * such ledger that keeps those libraries. The goals' table prints both.
 * Options: --duration (s), --rounds, --connections (comma list), --only, --cpu-prof (see below).
 */
const { values } = parseArgs({
  options: {
    // 30 rows × (2 s warm-up + 3 rounds × 7 s): about 12 minutes in all.
    duration: { type: 'string', default: '7' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50,200' },
    'pool-size': { type: 'string', default: '10' },
    // Only the rows whose name has this in it (the reference always runs), e.g. --only '10k users'.
    only: { type: 'string', default: '' },
    // Writes each instance's CPU profile (node --cpu-prof) into this folder when it exits.
    'cpu-prof': { type: 'string', default: '' },
    // Read by bench/http.ts, which hands `--store postgres` over to this file.
    store: { type: 'string', default: 'postgres' },
  },
})
const duration = Number(values.duration)
const rounds = Number(values.rounds)
const connectionCounts = values.connections.split(',').map(Number)
const manyUsers = 10_000
const root = resolve(__dirname, '..')

/** `floor` and `floor-two`: bench/server.ts's floor on PostgreSQL, one process or two on one database. */
type Target = 'reference' | 'one' | 'two' | 'conventional' | 'floor' | 'floor-two' | 'minimal' | 'minimal-two' | 'libraries-floor' | 'libraries-floor-two'

interface Row {
  readonly name: string
  readonly target: Target
  readonly connections: number
  readonly path: () => string
}

const anyUser = (): number => 1 + Math.floor(Math.random() * manyUsers)
const hot = () => '/point/1/charge'
const spread = () => `/point/${anyUser()}/charge`

const allRows: Row[] = connectionCounts.flatMap((connections) => [
  { name: `reference: bare Koa PATCH, Map (${connections} conn)`, target: 'reference', connections, path: spread },
  { name: `1 instance, hot user (${connections} conn)`, target: 'one', connections, path: hot },
  { name: `1 instance, 10k users (${connections} conn)`, target: 'one', connections, path: spread },
  { name: `2 instances, hot user (${connections} conn)`, target: 'two', connections, path: hot },
  { name: `2 instances, 10k users (${connections} conn)`, target: 'two', connections, path: spread },
  { name: `conventional: Koa, a transaction per request, 10k users (${connections} conn)`, target: 'conventional', connections, path: spread },
  { name: `floor: bare Koa + the store's appends, no ledger, 1 process, hot user (${connections} conn)`, target: 'floor', connections, path: hot },
  { name: `floor: bare Koa + the store's appends, no ledger, 1 process, 10k users (${connections} conn)`, target: 'floor', connections, path: spread },
  { name: `floor: bare Koa + the store's appends, no ledger, 2 processes, 10k users (${connections} conn)`, target: 'floor-two', connections, path: spread },
  { name: `floor of the stack: bare Koa + a one-table log, 1 process, hot user (${connections} conn)`, target: 'minimal', connections, path: hot },
  { name: `floor of the stack: bare Koa + a one-table log, 1 process, 10k users (${connections} conn)`, target: 'minimal', connections, path: spread },
  { name: `floor of the stack: bare Koa + a one-table log, 2 processes, 10k users (${connections} conn)`, target: 'minimal-two', connections, path: spread },
  { name: `floor of the libraries: the libraries at their cheapest (no request line) + a one-table log, 1 process, hot user (${connections} conn)`, target: 'libraries-floor', connections, path: hot },
  { name: `floor of the libraries: the libraries at their cheapest (no request line) + a one-table log, 1 process, 10k users (${connections} conn)`, target: 'libraries-floor', connections, path: spread },
  { name: `floor of the libraries: the libraries at their cheapest (no request line) + a one-table log, 2 processes, 10k users (${connections} conn)`, target: 'libraries-floor-two', connections, path: spread },
])
const rows = allRows.filter((row) => row.target === 'reference' || row.name.includes(values.only))

function started(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`${what} exited with ${String(code)}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const found = pattern.exec(line)?.[1]
      if (found !== undefined) ready(found)
    })
  })
}

/** With --cpu-prof, every server process but the conventional one writes its profile there when it exits. */
const profileFlags = (): string[] => (values['cpu-prof'] === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']])

/** One of bench/server.ts's servers: the reference, or a floor on `databaseUrl`. */
async function startBenchServer(...args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [...profileFlags(), ...compiledScript('bench/server.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  const port = await started(child, /^listening (\d+)$/, `bench/server.ts ${args[0]!}`)
  return { url: `http://127.0.0.1:${port}`, child }
}

async function startConventional(databaseUrl: string): Promise<Server> {
  const args = [...compiledScript('bench/conventional-postgres.ts'), databaseUrl, values['pool-size']]
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await started(child, /^listening (\d+)$/, 'the conventional service')
  return { url: `http://127.0.0.1:${port}`, child }
}

async function startInstance(databaseUrl: string): Promise<Server> {
  const port = await freePort()
  const child = spawn(process.execPath, [...profileFlags(), ...compiledScript('src/main.ts')], {
    cwd: root,
    // LOG_LEVEL=warn keeps one log line per request out of the measurement, so the port is chosen here.
    // eslint-disable-next-line no-restricted-properties
    env: { ...process.env, POINT_STORE: 'postgres', DATABASE_URL: databaseUrl, PG_POOL_SIZE: values['pool-size'], PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  for (;;) {
    if (child.exitCode !== null) throw new Error(`a service instance exited with ${child.exitCode}`)
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false)
    if (ready) return { url, child }
    await sleep(100)
  }
}

function load(url: string, row: Row, connections: number, seconds: number): Promise<Result> {
  const request: Request = {
    method: 'PATCH',
    setupRequest: (req) => ({ ...req, path: row.path(), body: JSON.stringify({ amount: 1 }), headers: { 'content-type': 'application/json' } }),
  }
  return new Promise((done, fail) => {
    autocannon({ url, connections, duration: seconds, requests: [request] }, (error, result) => (error ? fail(error as Error) : done(result)))
  })
}

/** The PostgreSQL server's CPU so far, in µs, when it runs on this machine (the embedded one); else 0. */
let postgresMicros: () => number = () => 0

interface Sample {
  readonly rps: number
  /** The servers' CPU per answered request: what the service spends of its own. */
  readonly cpu: number
  /** The PostgreSQL server's CPU per answered request, every backend and background process of it. */
  readonly pgCpu: number
  readonly p50: number
  readonly p99: number
  readonly failed: number
}

interface Server {
  readonly url: string
  readonly child: ChildProcess
}

const cpuOf = (servers: readonly Server[]) => servers.reduce((n, s) => n + cpuMicros(s.child.pid!), 0)

/** Two instances: half the connections each, at once; req/s and CPU add up, latencies are the worse of the two. */
async function measure(servers: readonly Server[], row: Row, seconds: number): Promise<Sample> {
  const before = cpuOf(servers)
  const pgBefore = postgresMicros()
  const results = await Promise.all(servers.map((s) => load(s.url, row, Math.ceil(row.connections / servers.length), seconds)))
  const answered = results.reduce((n, r) => n + r.requests.total, 0)
  return {
    rps: results.reduce((n, r) => n + r.requests.average, 0),
    cpu: (cpuOf(servers) - before) / answered,
    pgCpu: (postgresMicros() - pgBefore) / answered,
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    failed: results.reduce((n, r) => n + r.non2xx + r.errors, 0),
  }
}

interface Goal {
  readonly name: string
  readonly target: Target
  readonly path: () => string
  readonly against: 'reference' | 'conventional'
  /** The ratio wanted at each connection count; none: printed for information. */
  readonly wanted: Readonly<Record<number, number>>
}

/** Issue 15's goals 3 and 4, as these rows measure them. */
const goalList: readonly Goal[] = [
  { name: '1 instance, 10k users', target: 'one', path: spread, against: 'reference', wanted: { 50: 0.4, 200: 0.7 } },
  { name: '1 instance, hot user', target: 'one', path: hot, against: 'reference', wanted: { 50: 0.6, 200: 0.9 } },
  { name: '2 instances, 10k users', target: 'two', path: spread, against: 'reference', wanted: { 50: 0.35, 200: 0.6 } },
  { name: '1 instance, 10k users', target: 'one', path: spread, against: 'conventional', wanted: { 50: 4, 200: 4 } },
  { name: '2 instances, 10k users', target: 'two', path: spread, against: 'conventional', wanted: {} },
]

/**
 * The floors beside a product row, as the goals' table prints them: the store's floor (the same users and processes
 * with no ledger and no request path around the store's appends), the stack's floor (appending to a one-table log,
 * bench/minimal-postgres.ts) and the libraries' floor (the stack's floor behind the libraries the service keeps, at
 * their cheapest). Each has a target for one process and one for two.
 */
const floors: ReadonlyArray<{ readonly column: string; readonly one: Target; readonly two: Target }> = [
  { column: 'floor', one: 'floor', two: 'floor-two' },
  { column: 'stack floor', one: 'minimal', two: 'minimal-two' },
  { column: 'libraries floor', one: 'libraries-floor', two: 'libraries-floor-two' },
]

/**
 * Each goal at each connection count: the ratio wanted, the one measured, whether it is met, and the floor's ratio
 * beside it: a goal above its floor is out of reach for anything that appends to this schema through this store.
 */
function goals(counts: readonly number[], rps: (target: Target, path: () => string, connections: number) => number | undefined) {
  const shown = (against: Goal['against'], ratio: number) => (against === 'reference' ? `${Math.round(ratio * 100)}%` : `${ratio.toFixed(1)}x`)
  return counts.flatMap((connections) =>
    goalList.flatMap(({ name, target, path, against, wanted }) => {
      const got = rps(target, path, connections)
      const base = rps(against, spread, connections)
      if (got === undefined || base === undefined) return []
      const ratio = got / base
      const threshold = wanted[connections]
      const floorColumns = floors.flatMap(({ column, one, two }): Array<[string, string]> => {
        const floor = rps(target === 'two' ? two : one, path, connections)
        return [
          [column, floor === undefined ? '' : shown(against, floor / base)],
          [`${column} reaches it`, floor === undefined || threshold === undefined ? '' : floor / base >= threshold ? 'yes' : 'NO'],
        ]
      })
      return [{
        goal: `${name} vs ${against} (${connections} conn)`,
        wanted: threshold === undefined ? '' : `≥ ${shown(against, threshold)}`,
        got: shown(against, ratio),
        met: threshold === undefined ? '' : ratio >= threshold ? 'yes' : 'NO',
        ...Object.fromEntries(floorColumns),
      }]
    }),
  )
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

async function main(): Promise<void> {
  const server = await benchServer()
  const children: ChildProcess[] = []
  try {
    const databaseUrl = await scratchDatabase(server)
    postgresMicros = (await postgresCpu(databaseUrl)) ?? postgresMicros
    // Each process is registered as it starts, so a later start that fails still leaves none behind.
    const kept = (server: Server): Server => (children.push(server.child), server)
    const reference = kept(await startBenchServer('reference'))
    // Each target on a database of its own, so none sees another's rows: were the one-instance rows served by one
    // of the pair, every user the other had written since would cost its first charge a conflict and a reload.
    const one = kept(await startInstance(databaseUrl))
    const pairUrl = await scratchDatabase(server)
    const pair = [kept(await startInstance(pairUrl)), kept(await startInstance(pairUrl))]
    const conventional = kept(await startConventional(await scratchDatabase(server)))
    // A bench server alone, and two sharing a database, each on a database of its own.
    const aloneAndPair = async (kind: string, ...more: string[]): Promise<[Server, Server[]]> => {
      const alone = kept(await startBenchServer(kind, await scratchDatabase(server), ...more))
      const sharedUrl = await scratchDatabase(server)
      const first = kept(await startBenchServer(kind, sharedUrl, ...more))
      return [alone, [first, kept(await startBenchServer(kind, sharedUrl, ...more))]]
    }
    const [floor, floorPair] = await aloneAndPair('floor-postgres', values['pool-size'])
    const [minimal, minimalPair] = await aloneAndPair('floor-minimal-postgres')
    const [librariesFloor, librariesFloorPair] = await aloneAndPair('floor-libraries-postgres')
    const servers: Record<Target, Server[]> = {
      reference: [reference],
      one: [one],
      two: pair,
      conventional: [conventional],
      floor: [floor],
      'floor-two': floorPair,
      minimal: [minimal],
      'minimal-two': minimalPair,
      'libraries-floor': [librariesFloor],
      'libraries-floor-two': librariesFloorPair,
    }
    const serversOf = (target: Target) => servers[target]
    const load = () => loadavg().map((n) => n.toFixed(2)).join(', ')
    console.log(`load average before: ${load()}`)

    console.log(`warming up (2 s per row), then ${rounds} rounds of ${duration} s; connections ${connectionCounts.join(', ')}`)
    for (const row of rows) await measure(serversOf(row.target), row, 2)
    const samples = new Map<Row, Sample[]>(rows.map((row) => [row, []]))
    for (let round = 1; round <= rounds; round++) {
      // Rounds go over all rows in turn, so a noisy neighbour hits every row alike.
      for (const row of rows) {
        const sample = await measure(serversOf(row.target), row, duration)
        samples.get(row)!.push(sample)
        console.log(`round ${round}: ${row.name}: ${Math.round(sample.rps)} req/s, p99 ${sample.p99} ms, ${Math.round(sample.cpu)} µs CPU/req, PostgreSQL ${Math.round(sample.pgCpu)} µs/req`)
      }
    }
    const figures = (row: Row) => {
      const s = samples.get(row)!
      return { rps: median(s.map((x) => x.rps)), cpu: median(s.map((x) => x.cpu)), pgCpu: median(s.map((x) => x.pgCpu)), p50: median(s.map((x) => x.p50)), p99: median(s.map((x) => x.p99)), failed: s.reduce((n, x) => n + x.failed, 0) }
    }
    console.table(
      rows.map((row) => {
        const f = figures(row)
        const base = figures(rows.find((r) => r.target === 'reference' && r.connections === row.connections)!)
        return {
          row: row.name,
          'req/s': Math.round(f.rps),
          'p50 ms': f.p50,
          'p99 ms': f.p99,
          'req/s vs ref': `${Math.round((f.rps / base.rps) * 100)}%`,
          'p99 vs ref': `${(f.p99 / base.p99).toFixed(2)}x`,
          'server CPU µs/req': Math.round(f.cpu),
          'CPU vs ref': `${(f.cpu / base.cpu).toFixed(2)}x`,
          'PostgreSQL CPU µs/req': Math.round(f.pgCpu),
          'non-2xx/errors': f.failed,
        }
      }),
    )
    console.log(`load average after: ${load()}`)
    console.table(goals(connectionCounts, (target, path, connections) => {
      const row = rows.find((r) => r.target === target && r.path === path && r.connections === connections)
      return row === undefined ? undefined : figures(row).rps
    }))
  } finally {
    // The instances go first, so none is left talking to a stopped server.
    await Promise.all(children.map((child) => new Promise((gone) => (child.exitCode === null ? child.once('exit', gone).kill() : gone(null)))))
    await server.stop()
  }
}

void main()
