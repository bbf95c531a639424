import type Router from '@koa/router'
import type { Context, Middleware, Next } from 'koa'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { QueueStats } from '../events/commands'
import type { StoreCall, StoreObserver } from '../events/store'
import { routeOf } from './paths'
import type { Problem } from './problem'
import { strictRouter } from './router'

type StoreOutcome = Parameters<StoreObserver>[1]

/** Process metrics are one per process, so every app's scrape shares this registry. */
let processRegistry: Registry | undefined
const processMetrics = (): Registry => {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

const commandRoutes: Record<string, string> = {
  '/point/:id/charge': 'charge',
  '/point/:id/use': 'use',
  '/point/:id/refund': 'refund',
  '/point/:id/hold': 'hold',
  '/point/:id/holds/:holdId/capture': 'capture',
  '/point/:id/holds/:holdId/release': 'release',
}

/** One app's metrics, in a registry of its own so that several apps can live in one process. */
export class Metrics {
  readonly registry = new Registry()

  private readonly requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  })

  private readonly accepted = new Counter({
    name: 'point_commands_accepted_total',
    help: 'Commands (charge, use, refund, hold, capture, release) answered 200',
    labelNames: ['command'] as const,
    registers: [this.registry],
  })

  private readonly rejected = new Counter({
    name: 'point_commands_rejected_total',
    help: 'Commands answered with a problem, by its code',
    labelNames: ['command', 'code'] as const,
    registers: [this.registry],
  })

  private readonly batchSize = new Histogram({
    name: 'point_writer_batch_size',
    help: 'Commands a writer decided and appended together (group commit)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  })

  private readonly storeDuration = new Histogram({
    name: 'point_store_call_duration_seconds',
    help: 'Store call latency, by call and outcome',
    labelNames: ['call', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  })

  /**
   * Each label set's child of the request histogram, looked up once: prom-client's `observe(labels, value)` makes a
   * closure for every call (its child still checks and hashes the labels each time, which only prom-client could
   * spare). By route, method and status in nested maps: a key string joined for every request cost ten times the
   * three lookups. Bounded: Node parses only known methods, routes are the patterns the routers hold (or
   * `unmatched`), and statuses are three digits.
   */
  private readonly durationChildren = new Map<string, Map<string, Map<number, Histogram.Internal<'method' | 'route' | 'status'>>>>()

  private durationOf(method: string, route: string, status: number): Histogram.Internal<'method' | 'route' | 'status'> {
    const byMethod = entryOf(this.durationChildren, route, () => new Map())
    const byStatus = entryOf(byMethod, method, () => new Map())
    return entryOf(byStatus, status, () => this.requestDuration.labels({ method, route, status }))
  }

  /** Sizes every writer batch; pass as the writer's `onBatch`. */
  readonly onBatch = (size: number): void => this.batchSize.observe(size)

  /** Each (call, outcome)'s child of the store histogram, looked up once, as the request histogram's: a few dozen. */
  private readonly storeChildren = new Map<StoreCall, Map<StoreOutcome, Histogram.Internal<'call' | 'outcome'>>>()

  /** Times every store call; pass to `timedStore`. */
  readonly observeStore: StoreObserver = (call, outcome, seconds) => {
    const byOutcome = entryOf(this.storeChildren, call, () => new Map())
    entryOf(byOutcome, outcome, () => this.storeDuration.labels({ call, outcome })).observe(seconds)
  }

  /** Reads the queue's depth and writer count at each scrape. */
  watchQueue(commands: QueueStats): void {
    this.gauge('point_writer_queued_commands', 'Commands waiting for their user writer', () => commands.queued)
    this.gauge('point_writer_active_writers', 'Users with a writer at work', () => commands.activeWriters)
  }

  /** Reads how many feed streams are open at each scrape. */
  watchStreams(streams: { readonly count: number }): void {
    this.gauge('point_feed_open_streams', 'Change feed streams (GET /events/stream) being served, each until its response has closed', () => streams.count)
  }

  /** A gauge set from `read` when scraped, not on every change: nothing on the request path pays for it. */
  private gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read())
      },
    })
  }

  /** Times every request and counts command outcomes; sits outside the problem handler to see final answers. */
  readonly middleware = async (ctx: Context, next: Next): Promise<void> => {
    const started = performance.now()
    try {
      await next()
    } finally {
      const route = routeOf(ctx)
      this.durationOf(ctx.method, route, ctx.status).observe((performance.now() - started) / 1000)
      this.countCommand(ctx, route)
    }
  }

  /** `GET /metrics` in the Prometheus text format, behind `guard` (a key with the `metrics` scope, when keys are on). */
  routes(guard: Middleware): Router {
    return strictRouter().get('/metrics', guard, async (ctx) => {
      const merged = Registry.merge([processMetrics(), this.registry])
      ctx.type = merged.contentType
      ctx.body = await merged.metrics()
    })
  }

  /** Each command's child of the accepted counter, and each (command, code)'s of the rejected one, as the histograms'. */
  private readonly acceptedChildren = new Map<string, Counter.Internal>()
  private readonly rejectedChildren = new Map<string, Map<string, Counter.Internal>>()

  private countCommand(ctx: Context, route: string): void {
    const command = commandRoutes[route]
    if (command === undefined || ctx.method !== 'PATCH') return
    if (ctx.status === 200) return entryOf(this.acceptedChildren, command, () => this.accepted.labels({ command })).inc()
    const code = (ctx.body as Problem | undefined)?.code ?? String(ctx.status)
    entryOf(entryOf(this.rejectedChildren, command, () => new Map()), code, () => this.rejected.labels({ command, code })).inc()
  }
}

/** The map's value for `key`, made by `make` and kept the first time it is asked for. */
function entryOf<K, V>(map: Map<K, V>, key: K, make: () => NoInfer<V>): V {
  let value = map.get(key)
  if (value === undefined) {
    value = make()
    map.set(key, value)
  }
  return value
}
