import Koa, { type Context, type Next } from 'koa'
import bodyParser from 'koa-bodyparser'
import type { Logger } from 'pino'
import type { Ledger } from '../projections/ledger'
import { operationLayers, type Operations } from './operations'
import { problem, ProblemError, sendProblem, type ProblemCode } from './problem'
import { pointRoutes } from './routes'

export interface AppOptions {
  readonly ledger: Ledger
  readonly logger: Logger
  /** Largest JSON body accepted; larger ones get 413. */
  readonly bodyLimit?: string
  /** Logs, metrics, health, docs, keys and draining; without it, the bare API. */
  readonly operations?: Operations
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

/** koa-bodyparser's errors carry the raw body; it is never echoed nor logged. */
const bodyError = (error: Error & { status?: number }): never => {
  throw new ProblemError(
    error.status === 413
      ? problem('PAYLOAD_TOO_LARGE', 'the body is over the size limit')
      : problem('INVALID_REQUEST', 'the body is not valid JSON'),
  )
}

export function createApp({ ledger, logger, bodyLimit = '4kb', operations }: AppOptions): Koa {
  const app = new Koa()
  const layers = operationLayers(logger, operations)
  // Mounted only on the routes that take a body: every other route ignores whatever body comes.
  const jsonBody = bodyParser({ enableTypes: ['json'], jsonLimit: bodyLimit, strict: true, onerror: bodyError })
  const router = pointRoutes(ledger, { guard: layers.guard, jsonBody })
  layers.routers.forEach((more) => router.use(more.routes()))
  app.silent = true
  layers.outer.forEach((middleware) => app.use(middleware))
  app.use(problems(logger))
  layers.inner.forEach((middleware) => app.use(middleware))
  app.use(router.routes()).use(router.allowedMethods())
  return app
}
