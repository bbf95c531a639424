import Koa, { type Context, type Next } from 'koa'
import type { Logger } from 'pino'
import type { Ledger } from '../projections/ledger'
import { operationLayers, type Operations } from './operations'
import { jsonBody } from './json-body'
import { problem, ProblemError, sendProblem, type ProblemCode } from './problem'
import { pointRoutes } from './routes'
import { FeedTail } from '../projections/feed-tail'
import { feedRoutes } from './feed-routes'
import { OpenStreams } from './open-streams'
import type { StreamSettings } from './feed-stream'

export interface AppOptions {
  readonly ledger: Ledger
  readonly logger: Logger
  /** Largest JSON body accepted; larger ones get 413. */
  readonly bodyLimit?: string
  /** Logs, metrics, health, docs, keys and draining; without it, the bare API. */
  readonly operations?: Operations
  /** The change feed's live end and stream settings; without it, a tail of its own with the default settings. */
  readonly feed?: FeedStreaming
}

/** What the change feed's streams share. */
export interface FeedStreaming {
  readonly tail: FeedTail
  readonly settings: StreamSettings
  /** The streams being served, for the bound and the metrics; without it, a count of the app's own. */
  readonly open?: OpenStreams
}

/** The settings `FEED_*` default to, in a stream's terms. */
export const defaultStreamSettings: StreamSettings = {
  heartbeatMillis: 15_000,
  bufferBytes: 1_048_576,
  pageLimit: 1_000,
  retryMillis: 1_000,
  closeGraceMillis: 5_000,
  maxStreams: 256,
}

const statusCodes: Record<number, ProblemCode> = {
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  501: 'NOT_IMPLEMENTED',
}

/**
 * The HTTP edge. Every error leaves as problem+json: bad input as 4xx, an
 * unexpected exception, a programmer error, as 500 after it has been logged.
 */
const problems = (logger: Logger) => async (ctx: Context, next: Next) => {
  try {
    await next()
    const code = statusCodes[ctx.status]
    // The path is the client's text: it is not echoed, only the method, which Node has already checked.
    if (ctx.body == null && code !== undefined) sendProblem(ctx, problem(code, `no route serves ${ctx.method} at this path`))
  } catch (error) {
    if (error instanceof ProblemError) return sendProblem(ctx, error.problem)
    logger.error({ err: error, method: ctx.method, path: ctx.path }, 'unhandled error')
    sendProblem(ctx, problem('INTERNAL_ERROR', 'the service failed unexpectedly'))
  }
}

export function createApp({ ledger, logger, bodyLimit = '4kb', operations, feed }: AppOptions): Koa {
  const app = new Koa()
  const layers = operationLayers(logger, operations)
  // Mounted only on the routes that take a body: every other route ignores whatever body comes.
  const router = pointRoutes(ledger, { guard: layers.guard, jsonBody: jsonBody(bodyLimit) })
  const streaming = feed ?? { tail: new FeedTail(ledger.feedPage, { pollMillis: 100, pageLimit: 1_000 }), settings: defaultStreamSettings }
  const onDrain = operations?.lifecycle.onDrain.bind(operations.lifecycle) ?? (() => () => undefined)
  const open = streaming.open ?? new OpenStreams()
  router.use(feedRoutes(ledger, { guard: layers.guard, stream: { read: ledger.feedPage, ...streaming, onDrain }, open }).routes())
  layers.routers.forEach((more) => router.use(more.routes()))
  app.silent = true
  layers.outer.forEach((middleware) => app.use(middleware))
  app.use(problems(logger))
  layers.inner.forEach((middleware) => app.use(middleware))
  app.use(router.routes()).use(router.allowedMethods())
  return app
}
