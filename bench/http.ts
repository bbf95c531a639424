import autocannon, { type Request, type Result } from 'autocannon'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { compiledScript } from './compiled'
import type { Usage } from './server'

/**
 * `npm run bench:http`: the charge endpoint on SQLite against two references measured in the same run: a bare
 * Koa handler that adds to a Map, and the same handler behind the libraries the service keeps, used plainly.
 * Each server runs in its own process; autocannon runs here. Options: --duration (s), --rounds, --connections,
 * --store postgres for the PostgreSQL table, --servers group,single to measure only some rows (both references
 * always run), --log-buffer-bytes to run the logging servers with another LOG_BUFFER_BYTES than its default.
 */
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    store: { type: 'string', default: 'sqlite' },
    // `floor` (bare Koa appending through the SQLite store) is left out by default to keep the run near 8 minutes;
    // the stack's floor (`floor-minimal`, a one-table log) and the libraries' floor and ceiling stay in, as each
    // charge goal's and the GET goal's yardsticks.
    servers: { type: 'string', default: 'reference,bare,instant,group,single,floor-minimal,floor-libraries,ceiling-libraries' },
    'log-buffer-bytes': { type: 'string' },
  },
})
const duration = Number(values.duration)
const rounds = Number(values.rounds)
const connections = Number(values.connections)
const manyUsers = 10_000

type ServerKind = 'reference' | 'libraries' | 'floor' | 'floor-worker' | 'floor-minimal' | 'floor-libraries' | 'ceiling-libraries' | 'bare' | 'instant' | 'group' | 'single'

interface Row {
  readonly name: string
  readonly server: ServerKind
  readonly method: 'GET' | 'PATCH'
  readonly path: () => string
}

const anyUser = (): number => 1 + Math.floor(Math.random() * manyUsers)
const chargeBody = JSON.stringify({ amount: 1 })

// The floors' and the ceiling's rows, named once: the goals below print each beside the goal it bounds.
const stackFloorRow = 'floor of the stack: bare Koa + a one-table SQLite log'
const stackFloorHotRow = 'floor of the stack, 1 hot user'
const librariesFloorRow = 'floor of the libraries: the libraries at their cheapest + a one-table SQLite log'
const librariesFloorHotRow = 'floor of the libraries, 1 hot user'
const librariesCeilingRow = 'ceiling of the libraries: the libraries at their cheapest + a Map, answered per turn'
// The GET rows read users the same server's charge rows charged before them, as the service's GET row does.
const librariesFloorGetRow = 'floor of the libraries, GET /point/{id}: its last event read from the one-table log'
const librariesCeilingGetRow = 'ceiling of the libraries, GET /point/{id}: read from the Map'

const allRows: readonly Row[] = [
  { name: 'reference: bare Koa PATCH, Map', server: 'reference', method: 'PATCH', path: () => `/point/${anyUser()}/charge` },
  { name: 'reference: the libraries used plainly, PATCH, Map', server: 'libraries', method: 'PATCH', path: () => `/point/${anyUser()}/charge` },
  { name: 'floor: bare Koa + SQLite group commit, no ledger', server: 'floor', method: 'PATCH', path: () => `/point/${anyUser()}/charge` },
  { name: 'floor, 1 hot user', server: 'floor', method: 'PATCH', path: () => '/point/1/charge' },
  { name: stackFloorRow, server: 'floor-minimal', method: 'PATCH', path: () => `/point/${anyUser()}/charge` },
  { name: stackFloorHotRow, server: 'floor-minimal', method: 'PATCH', path: () => '/point/1/charge' },
  { name: librariesFloorRow, server: 'floor-libraries', method: 'PATCH', path: () => `/point/${anyUser()}/charge` },
  { name: librariesFloorHotRow, server: 'floor-libraries', method: 'PATCH', path: () => '/point/1/charge' },
  { name: librariesFloorGetRow, server: 'floor-libraries', method: 'GET', path: () => `/point/${anyUser()}` },
  { name: librariesCeilingRow, server: 'ceiling-libraries', method: 'PATCH', path: () => `/point/${anyUser()}/charge` },
  { name: librariesCeilingGetRow, server: 'ceiling-libraries', method: 'GET', path: () => `/point/${anyUser()}` },
  { name: 'floor, its commits on a worker thread', server: 'floor-worker', method: 'PATCH', path: () => `/point/${anyUser()}/charge` },
  { name: 'charge, no-I/O store, API only (no logs, metrics, headers)', server: 'bare', method: 'PATCH', path: () => `/point/${anyUser()}/charge` },
  { name: 'charge, no-I/O store (stack cost)', server: 'instant', method: 'PATCH', path: () => `/point/${anyUser()}/charge` },
  { name: 'charge, SQLite, group commit', server: 'group', method: 'PATCH', path: () => `/point/${anyUser()}/charge` },
  { name: 'charge, SQLite, group commit, 1 hot user', server: 'group', method: 'PATCH', path: () => '/point/1/charge' },
  { name: 'charge, SQLite, commit per request', server: 'single', method: 'PATCH', path: () => `/point/${anyUser()}/charge` },
  { name: 'GET /point/{id}, SQLite', server: 'group', method: 'GET', path: () => `/point/${anyUser()}` },
]

const chosen = new Set(values.servers.split(','))
const isReference = (row: Row) => row.server === 'reference' || row.server === 'libraries'
const rows = allRows.filter((row) => isReference(row) || chosen.has(row.server))
const [bareReference, librariesReference] = rows as [Row, Row]

interface Running {
  readonly url: string
  readonly child: ChildProcess
}

const root = resolve(__dirname, '..')

function startServer(kind: ServerKind, dir: string): Promise<Running> {
  const logBuffer = values['log-buffer-bytes'] === undefined ? [] : [values['log-buffer-bytes']]
  const child = spawn(process.execPath, [...compiledScript('bench/server.ts'), kind, join(dir, `${kind}.db`), ...logBuffer], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  })
  return new Promise((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`the ${kind} server exited with ${String(code)}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const port = /^listening (\d+)$/.exec(line)?.[1]
      if (port !== undefined) ready({ url: `http://127.0.0.1:${port}`, child })
    })
  })
}

function usage(child: ChildProcess): Promise<Usage> {
  return new Promise((answer) => {
    child.once('message', (spent: Usage) => answer(spent))
    child.send('usage')
  })
}

interface Measured {
  readonly result: Result
  /** Server CPU per answered request: unlike req/s, barely moved by what else the machine runs. */
  readonly cpuPerRequest: number
  /** Appends per SQLite transaction (NaN without SQLite). */
  readonly batch: number
  /** Share of the run the server's event loop sat inside commits, fsync included. */
  readonly blocked: number
}

async function measure(server: Running, row: Row, seconds: number): Promise<Measured> {
  const before = await usage(server.child)
  const result = await load(server.url, row, seconds)
  const after = await usage(server.child)
  return {
    result,
    cpuPerRequest: (after.cpuMicros - before.cpuMicros) / result.requests.total,
    batch: (after.appends - before.appends) / (after.commits - before.commits),
    blocked: (after.commitMillis - before.commitMillis) / (result.duration * 1000),
  }
}

function load(url: string, row: Row, seconds: number): Promise<Result> {
  const request: Request = {
    method: row.method,
    setupRequest: (req) => ({
      ...req,
      path: row.path(),
      ...(row.method === 'PATCH' ? { body: chargeBody, headers: { 'content-type': 'application/json' } } : {}),
    }),
  }
  return new Promise((done, fail) => {
    autocannon({ url, connections, duration: seconds, requests: [request] }, (error, result) =>
      error ? fail(error as Error) : done(result),
    )
  })
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}

interface Figures {
  readonly cpu: number
  readonly batch: number
  readonly blocked: number
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly failed: number
}

const medians = (measured: Measured[]): Figures => {
  const results = measured.map((m) => m.result)
  return {
    cpu: median(measured.map((m) => m.cpuPerRequest)),
    batch: median(measured.map((m) => m.batch)),
    blocked: median(measured.map((m) => m.blocked)),
    rps: median(results.map((r) => r.requests.average)),
    p50: median(results.map((r) => r.latency.p50)),
    p99: median(results.map((r) => r.latency.p99)),
    failed: results.reduce((n, r) => n + r.non2xx + r.errors, 0),
  }
}

const percent = (x: number) => `${Math.round(x * 100)}%`

function printTable(figures: Map<Row, Figures>): void {
  const bare = figures.get(bareReference)!
  const libraries = figures.get(librariesReference)!
  console.table(
    rows.map((row) => {
      const f = figures.get(row)!
      return {
        row: row.name,
        'req/s': Math.round(f.rps),
        'p50 ms': f.p50,
        'p99 ms': f.p99,
        'req/s vs bare': percent(f.rps / bare.rps),
        'req/s vs libs': percent(f.rps / libraries.rps),
        'p99 vs bare': `${(f.p99 / bare.p99).toFixed(2)}x`,
        'server CPU µs/req': Math.round(f.cpu),
        'CPU vs bare': `${(f.cpu / bare.cpu).toFixed(2)}x`,
        'CPU vs libs': `${(f.cpu / libraries.cpu).toFixed(2)}x`,
        'appends/commit': Number.isNaN(f.batch) ? '' : f.batch.toFixed(1),
        'loop in commit': Number.isNaN(f.batch) ? '' : percent(f.blocked),
        'non-2xx/errors': f.failed,
      }
    }),
  )
}

interface Goal {
  readonly row: string
  /** The stack's floor for this goal (bench/minimal-sqlite.ts): the same load on a one-table log. */
  readonly stackFloor: string
  /** The libraries' floor: the same one-table log behind the libraries the service keeps, at their cheapest. */
  readonly librariesFloor: string
  /** The libraries' ceiling: the same libraries around a Map, no I/O (empty: not printed). */
  readonly librariesCeiling: string
  readonly what: string
  readonly measured: (f: Figures, bare: Figures, libraries: Figures) => number
  readonly format: (x: number) => string
  readonly met: (x: number) => boolean
}

const timesText = (x: number) => `${x.toFixed(2)}x`

/** The floors of the charge goals over 10,000 users. */
const spreadFloors = { stackFloor: stackFloorRow, librariesFloor: librariesFloorRow, librariesCeiling: librariesCeilingRow }

/** Issue #15's request-path goals, each a ratio within this run. */
const goals: Goal[] = [
  { row: 'charge, SQLite, group commit', ...spreadFloors, what: 'req/s vs the libraries reference (goal >= 125%)', measured: (f, _b, l) => f.rps / l.rps, format: percent, met: (x) => x >= 1.25 },
  { row: 'charge, SQLite, group commit', ...spreadFloors, what: 'req/s vs the bare reference (goal >= 50%)', measured: (f, b) => f.rps / b.rps, format: percent, met: (x) => x >= 0.5 },
  { row: 'charge, SQLite, group commit', ...spreadFloors, what: 'p99 vs the bare reference (goal <= 2x)', measured: (f, b) => f.p99 / b.p99, format: timesText, met: (x) => x <= 2 },
  { row: 'charge, SQLite, group commit, 1 hot user', stackFloor: stackFloorHotRow, librariesFloor: librariesFloorHotRow, librariesCeiling: '', what: 'req/s vs the bare reference (goal >= 70%)', measured: (f, b) => f.rps / b.rps, format: percent, met: (x) => x >= 0.7 },
  { row: 'GET /point/{id}, SQLite', stackFloor: '', librariesFloor: librariesFloorGetRow, librariesCeiling: librariesCeilingGetRow, what: 'req/s vs the bare reference (goal >= 60%)', measured: (f, b) => f.rps / b.rps, format: percent, met: (x) => x >= 0.6 },
]

function printGoals(figures: Map<Row, Figures>): void {
  const bare = figures.get(bareReference)!
  const libraries = figures.get(librariesReference)!
  console.log('Goals (issue #15, SQLite, medians of the rounds above):')
  for (const goal of goals) {
    const row = rows.find((r) => r.name === goal.row)
    if (row === undefined) continue
    const x = goal.measured(figures.get(row)!, bare, libraries)
    const floorText = (name: string, which: string): string => {
      const floorRow = rows.find((r) => r.name === name)
      if (floorRow === undefined) return ''
      const floor = goal.measured(figures.get(floorRow)!, bare, libraries)
      return `; ${which} ${goal.format(floor)}, ${goal.met(floor) ? 'reaches it' : 'misses it'}`
    }
    const floors =
      floorText(goal.stackFloor, "the stack's floor") + floorText(goal.librariesFloor, "the libraries' floor") + floorText(goal.librariesCeiling, "the libraries' ceiling")
    console.log(`- ${goal.row}: ${goal.what}: ${goal.format(x)}: ${goal.met(x) ? 'met' : 'not met'}${floors}`)
  }
}

const loadAverage = () => loadavg().map((x) => x.toFixed(2)).join(', ')

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'point-ledger-bench-'))
  const servers = new Map<ServerKind, Running>()
  try {
    for (const kind of new Set(rows.map((row) => row.server))) servers.set(kind, await startServer(kind, dir))
    const serverOf = (row: Row) => servers.get(row.server)!

    console.log(`node ${process.version}, load average ${loadAverage()}`)
    console.log(`warming up (2 s per row), then ${rounds} rounds of ${duration} s, ${connections} connections`)
    for (const row of rows) await load(serverOf(row).url, row, 2)

    // Rounds go over all rows in turn, so a noisy neighbour hits every row alike.
    const results = new Map<Row, Measured[]>(rows.map((row) => [row, []]))
    for (let round = 1; round <= rounds; round++) {
      for (const row of rows) {
        const measured = await measure(serverOf(row), row, duration)
        results.get(row)!.push(measured)
        const { requests, latency } = measured.result
        console.log(
          `round ${round}: ${row.name}: ${Math.round(requests.average)} req/s, p99 ${latency.p99} ms, ${Math.round(measured.cpuPerRequest)} µs CPU/req`,
        )
      }
    }
    const figures = new Map(rows.map((row) => [row, medians(results.get(row)!)]))
    printTable(figures)
    printGoals(figures)
    console.log(`load average at the end ${loadAverage()}`)
  } finally {
    for (const { child } of servers.values()) child.kill()
    rmSync(dir, { recursive: true, force: true })
  }
}

// `npm run bench:http -- --store postgres` runs the PostgreSQL table instead (bench/http-postgres.ts).
if (values.store === 'postgres') void import('./http-postgres.js')
else void main()
