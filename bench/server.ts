import Router from '@koa/router'
import Koa from 'koa'
import bodyParser from 'koa-bodyparser'
import helmet from 'koa-helmet'
import pino, { type Logger } from 'pino'
import { Histogram, Registry } from 'prom-client'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { parseConfig } from '../src/config'
import { initialState, type PointState } from '../src/events/decider'
import type { Amount, UserId, UserPoint } from '../src/events/model'
import type { PointStore } from '../src/events/store'
import { createApp } from '../src/http/app'
import { LogSink } from '../src/http/log-sink'
import { createLogger } from '../src/http/logging'
import { apiHeaders, securityHeaders } from '../src/http/security-headers'
import { createLedger } from '../src/projections/ledger'
import { startService } from '../src/service'
import { openPostgresStore } from '../src/stores/postgres'
import { openSqliteStore, type Commit } from '../src/stores/sqlite'
import type { CommitAnswer, CommitJob } from './commit-worker'
import { InstantStore } from './instant-store'
import { MinimalPgLog } from './minimal-postgres'
import { MinimalLog } from './minimal-sqlite'

/**
 * One server for `bench/http.ts`, started in its own process so the load
 * generator does not share its event loop. Usage: `server.ts <kind> [sqlite file | database url] [log buffer bytes | pool size]`;
 * prints `listening <port>` once ready, and answers any IPC message with its `Usage`.
 */
const [kind, path = '', sizeArgument] = process.argv.slice(2)

/** What this process has spent so far; the parent takes differences around each measurement. */
export interface Usage {
  readonly cpuMicros: number
  readonly commits: number
  readonly appends: number
  /** Time the event loop spent inside commits, fsync included. */
  readonly commitMillis: number
}

const spent = { commits: 0, appends: 0, commitMillis: 0 }
const onCommit = ({ appends, millis }: Commit) => {
  spent.commits++
  spent.appends += appends
  spent.commitMillis += millis
}

const usage = (): Usage => {
  const cpu = process.cpuUsage()
  return { cpuMicros: cpu.user + cpu.system, ...spent }
}

/** The 100% reference: Koa, the same body parser, a PATCH handler adding to a Map. */
function reference(): Server {
  const points = new Map<string, number>()
  const app = new Koa()
  app.use(bodyParser({ enableTypes: ['json'] }))
  app.use((ctx) => {
    const match = /^\/point\/(\d+)\/charge$/.exec(ctx.path)
    if (ctx.method !== 'PATCH' || match?.[1] === undefined) return
    const id = match[1]
    const point = (points.get(id) ?? 0) + Number((ctx.request.body as { amount: unknown }).amount)
    points.set(id, point)
    ctx.body = { id: Number(id), point, updateMillis: Date.now() }
  })
  return app.listen(0, '127.0.0.1')
}

/** The settings `npm start` runs with when none is given. */
const defaults = (() => {
  const config = parseConfig({ PORT: '0' })
  if (config._tag === 'Left') throw new Error(config.left)
  return config.right
})()

/**
 * Where the servers that log write their lines: a file that keeps nothing, through the sink `npm start` writes
 * stdout with (buffered as LOG_BUFFER_BYTES's default), so a line costs its serializing and its share of a write,
 * and the parent reading this process's stdout does not share in the cost.
 */
const requestLines = (): Logger =>
  createLogger('info', new LogSink('/dev/null', sizeArgument === undefined ? defaults.logBufferBytes : Number(sizeArgument)))

/**
 * The second reference: the libraries the service keeps, each used plainly, as their READMEs show, around the
 * same Map handler: Koa, koa-helmet, koa-bodyparser, @koa/router, one pino line and one prom-client histogram
 * observation per request, and no ledger.
 */
function libraries(): Server {
  const points = new Map<string, number>()
  const log = pino(pino.destination({ dest: '/dev/null', sync: true }))
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [new Registry()],
  })
  const router = new Router()
  router.patch('/point/:id/charge', (ctx) => {
    const id = ctx.params['id'] ?? ''
    const point = (points.get(id) ?? 0) + Number((ctx.request.body as { amount: unknown }).amount)
    points.set(id, point)
    ctx.body = { id: Number(id), point, updateMillis: Date.now() }
  })
  const app = new Koa()
  app.use(async (ctx, next) => {
    const started = performance.now()
    await next()
    const durationMs = performance.now() - started
    log.info({ req: { method: ctx.method, url: ctx.url, headers: ctx.headers }, status: ctx.status, durationMs }, 'request completed')
  })
  app.use(async (ctx, next) => {
    const stop = duration.startTimer()
    await next()
    stop({ method: ctx.method, route: String((ctx as { _matchedRoute?: unknown })._matchedRoute), status: ctx.status })
  })
  app.use(helmet())
  app.use(bodyParser())
  app.use(router.routes()).use(router.allowedMethods())
  return app.listen(0, '127.0.0.1')
}

type Charge = { readonly userId: UserId; readonly amount: Amount }

/**
 * A floor row's server: bare Koa reading `PATCH /point/{id}/charge` `{"amount"}` as plainly as the bare reference
 * does, and answering with what `charge` resolves to.
 */
function chargeServer(charge: (request: Charge) => Promise<unknown>): Server {
  const app = new Koa()
  app.use(bodyParser({ enableTypes: ['json'] }))
  app.use(async (ctx) => {
    const match = /^\/point\/(\d+)\/charge$/.exec(ctx.path)
    if (ctx.method !== 'PATCH' || match?.[1] === undefined) return
    ctx.body = await charge({ userId: Number(match[1]) as UserId, amount: Number((ctx.request.body as { amount: unknown }).amount) as Amount })
  })
  return app.listen(0, '127.0.0.1')
}

/** A charge waiting for its user's append, and the request waiting for its answer. */
interface WaitingCharge {
  readonly amount: Amount
  readonly answer: (point: UserPoint) => void
  readonly fail: (error: Error) => void
}

/**
 * Not a reference but a floor: the bare Koa handler appending each charge through a store's own appends (SQLite's
 * group commit, or PostgreSQL's batch statement with one commit in flight across users), with the user's version
 * kept in a Map (no decider, no writer, no logs, metrics or headers). What it costs over the bare reference is what
 * a durable append to this schema costs on this machine, whatever the request path around it. A user has one
 * append in flight at a time and the charges that come meanwhile go in its next one, as the service's writer
 * batches them, so one hot user's floor has the service's shape: one append of many events per commit, not many
 * appends of one. Another instance's write to the same user is a conflict: the version is read again and the
 * same charges appended on it, as any writer of a shared log must.
 */
function storeFloor(store: PointStore): Server {
  const versions = new Map<UserId, PointState>()
  /** Users with an append in flight, and the charges that came since. */
  const waiting = new Map<UserId, WaitingCharge[]>()
  const appendAll = async (userId: UserId, first: WaitingCharge): Promise<void> => {
    let charges = [first]
    while (charges.length > 0) {
      const before = versions.get(userId) ?? initialState
      const timeMillis = Date.now()
      const events = charges.map(({ amount }) => ({ type: 'CHARGE' as const, userId, amount, timeMillis }))
      const balance = charges.reduce((sum, { amount }) => sum + amount, before.balance)
      const projection = { balance, version: before.version + charges.length }
      const written = await store.append(userId, before.version, { events, projection, receipts: [] })()
      if (written._tag === 'Right') {
        versions.set(userId, projection)
        // Each charge is answered with the balance it left, as the service answers a batch.
        let point = before.balance
        for (const { amount, answer } of charges) answer({ ...written.right, point: (point += amount) })
      } else if (written.left._tag === 'VersionConflict') {
        const read = await store.load(userId)()
        if (read._tag === 'Right') {
          versions.set(userId, read.right)
          continue
        }
        charges.forEach(({ fail }) => fail(new Error(read.left._tag)))
      } else charges.forEach(({ fail }) => fail(new Error(written.left._tag)))
      charges = waiting.get(userId) ?? []
      waiting.set(userId, [])
    }
    waiting.delete(userId)
  }
  return chargeServer(
    ({ userId, amount }) =>
      new Promise<UserPoint>((answer, fail) => {
        const queued = waiting.get(userId)
        if (queued !== undefined) return void queued.push({ amount, answer, fail })
        waiting.set(userId, [])
        void appendAll(userId, { amount, answer, fail })
      }),
  )
}

/**
 * The floor with its commits on a worker thread (`bench/commit-worker.ts`): the same appends, the same file and
 * fsync, but the event loop goes on answering while a commit syncs. The experiment behind docs/performance.md's
 * "commit on a worker thread".
 */
function sqliteFloorOnWorker(path: string): Server {
  // Compiled, the worker's script sits beside this one. Under tsx a worker does not inherit its loader: the
  // CommonJS hook is registered first, then the TypeScript file loaded.
  const compiled = __filename.endsWith('.js')
  const script = compiled ? join(__dirname, 'commit-worker.js') : `require('tsx/cjs'); require(${JSON.stringify(join(__dirname, 'commit-worker.ts'))})`
  const worker = new Worker(script, { eval: !compiled, workerData: { path } })
  const waiting = new Map<number, (results: ReadonlyArray<number | string>) => void>()
  let nextId = 0
  let turn: { jobs: CommitJob[]; answers: ((result: number | string) => void)[] } | undefined
  worker.on('message', (answer: CommitAnswer) => {
    Object.assign(spent, { commits: answer.commits, appends: answer.appends, commitMillis: 0 })
    waiting.get(answer.id)?.(answer.results)
    waiting.delete(answer.id)
  })
  // The charges of one turn go over in one message, so they can share one commit.
  const commit = (job: CommitJob): Promise<number | string> =>
    new Promise((resolve) => {
      if (turn === undefined) {
        const current = { jobs: [] as CommitJob[], answers: [] as ((result: number | string) => void)[] }
        turn = current
        setImmediate(() => {
          turn = undefined
          const id = nextId++
          waiting.set(id, (results) => current.answers.forEach((answer, i) => answer(results[i] ?? 'lost')))
          worker.postMessage({ id, jobs: current.jobs })
        })
      }
      turn.jobs.push(job)
      turn.answers.push(resolve)
    })
  const versions = new Map<UserId, PointState>()
  return chargeServer(async ({ userId, amount }) => {
    const before = versions.get(userId) ?? initialState
    const balance = before.balance + amount
    versions.set(userId, { balance, version: before.version + 1 })
    const result = await commit({ userId, version: before.version, balance, amount, timeMillis: Date.now() })
    if (typeof result === 'string') throw new Error(result)
    return { id: userId, point: balance, updateMillis: result }
  })
}

/** A one-table log (bench/minimal-sqlite.ts, bench/minimal-postgres.ts): a charge resolves to the balance it left. */
interface ChargeLog {
  charge(userId: UserId, amount: Amount): Promise<number>
  /** A user's balance as `GET /point/{id}` answers it; a log without it serves no `GET`. */
  balance?(userId: UserId): { point: number; updateMillis: number }
}

/** The stack's floor: bare Koa charging a one-table log. */
const logFloor = (log: ChargeLog): Server =>
  chargeServer(async ({ userId, amount }) => ({ id: userId, point: await log.charge(userId, amount), updateMillis: Date.now() }))

/**
 * The libraries' floor: the stack's floor behind the libraries the service keeps, each used as cheaply as a
 * service could use it and still have it: Koa, koa-bodyparser, @koa/router with the one route, helmet's headers
 * worked out once and set as they are (`src/http/security-headers.ts`), a pino line of method, URL, status and
 * duration with no time, no redaction and a 4 KiB buffer in front of the write (sonic-boom's own), and one
 * observation of a prom-client histogram with no labels. No request id, auth, decoding, decider, projection or
 * index. A charge's throughput it misses in every run, no ledger that keeps these libraries and commits this way
 * can reach. `GET /point/{id}` reads the user's last event from the log, if the log can (the service's read also
 * gathers the user's holds). On PostgreSQL the line is at `warn`, so not even built, as bench/http-postgres.ts runs
 * the service.
 */
function librariesFloor(log: ChargeLog, level: 'info' | 'warn' = 'info'): Server {
  const lines = pino({ base: null, timestamp: false, level }, pino.destination({ dest: '/dev/null', sync: true, minLength: 4_096 }))
  const logged = lines.isLevelEnabled('info')
  const duration = new Histogram({ name: 'http_request_duration_seconds', help: 'Time from request to response', registers: [new Registry()] })
  const router = new Router()
  router.patch('/point/:id/charge', async (ctx) => {
    const userId = Number(ctx.params['id']) as UserId
    const amount = Number((ctx.request.body as { amount: unknown }).amount) as Amount
    ctx.body = { id: userId, point: await log.charge(userId, amount), updateMillis: Date.now() }
  })
  const balance = log.balance?.bind(log)
  if (balance !== undefined) {
    router.get('/point/:id', (ctx) => {
      const userId = Number(ctx.params['id']) as UserId
      ctx.body = { id: userId, ...balance(userId) }
    })
  }
  const app = new Koa()
  app.use(async (ctx, next) => {
    const started = performance.now()
    await next()
    const durationMs = performance.now() - started
    duration.observe(durationMs / 1000)
    if (logged) lines.info({ method: ctx.method, url: ctx.url, status: ctx.status, durationMs }, 'request completed')
  })
  app.use(securityHeaders(apiHeaders))
  app.use(bodyParser({ enableTypes: ['json'] }))
  app.use(router.routes())
  return app.listen(0, '127.0.0.1')
}

/**
 * The libraries' ceiling: the libraries' floor with no I/O at all, each charge added to a Map and answered at the
 * end of its event-loop turn. It is what these libraries cost around no ledger, for a ledger that answers once a
 * turn; it is not a bound: a ledger whose commit holds the loop answers in bigger bursts, which cost less per
 * request (docs/performance.md, "A ceiling row: tried, and not a bound").
 */
function librariesCeiling(): Server {
  const points = new Map<UserId, number>()
  let turn: (() => void)[] | undefined
  return librariesFloor({
    charge: (userId, amount) =>
      new Promise((answer) => {
        if (turn === undefined) {
          const answers: (() => void)[] = (turn = [])
          setImmediate(() => {
            turn = undefined
            for (const send of answers) send()
          })
        }
        const point = (points.get(userId) ?? 0) + amount
        points.set(userId, point)
        turn.push(() => answer(point))
      }),
    balance: (userId) => ({ point: points.get(userId) ?? 0, updateMillis: Date.now() }),
  })
}

/** The service as `npm start` wires it, on the given store, its request lines at `info`. */
async function ledger(store: PointStore): Promise<Server> {
  const service = await startService(defaults, requestLines(), store)
  return service.server
}

/** Our routes, decoding and writer alone: the app without the operations layers (logs, metrics, headers, health). */
function bare(store: PointStore): Server {
  const config = parseConfig({ PORT: '0' })
  if (config._tag === 'Left') throw new Error(config.left)
  const ledger = createLedger({ store, limits: config.right.limits })
  return createApp({ ledger, logger: pino({ level: 'silent' }) }).listen(0, '127.0.0.1')
}

function start(): Server | Promise<Server> {
  switch (kind) {
    case 'reference':
      return reference()
    case 'libraries':
      return libraries()
    case 'floor':
      return storeFloor(openSqliteStore(path, { groupCommit: true, onCommit }))
    case 'floor-postgres':
      return openPostgresStore(path, { poolSize: Number(sizeArgument ?? '10'), onCommit }).then(storeFloor)
    case 'floor-worker':
      return sqliteFloorOnWorker(path)
    case 'floor-minimal':
      return logFloor(new MinimalLog(path, onCommit))
    case 'floor-minimal-postgres':
      return logFloor(new MinimalPgLog(path, onCommit))
    case 'ceiling-libraries':
      return librariesCeiling()
    case 'floor-libraries':
      return librariesFloor(new MinimalLog(path, onCommit))
    case 'floor-libraries-postgres':
      return librariesFloor(new MinimalPgLog(path, onCommit), 'warn')
    case 'bare':
      return bare(new InstantStore())
    case 'instant':
      return ledger(new InstantStore())
    case 'group':
      return ledger(openSqliteStore(path, { groupCommit: true, onCommit }))
    case 'single':
      return ledger(openSqliteStore(path, { groupCommit: false, onCommit }))
    default:
      throw new Error(`unknown server kind: ${kind}`)
  }
}

async function main(): Promise<void> {
  const server = await start()
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  process.on('message', () => process.send?.(usage()))
  // An orderly exit on a signal, so that `node --cpu-prof` writes its profile (bench/profile.ts).
  process.once('SIGINT', () => process.exit(0))
  process.once('SIGTERM', () => process.exit(0))
  console.log(`listening ${(server.address() as AddressInfo).port}`)
}

void main()
