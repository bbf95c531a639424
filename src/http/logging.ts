import { randomUUID } from 'node:crypto'
import type { Context, Next } from 'koa'
import pino, { type DestinationStream, type Level, type Logger } from 'pino'
import { routeOf } from './paths'

/** Headers that carry credentials; they are censored before a line is written. */
const redact = {
  paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
  censor: '[redacted]',
}

/** The service's logger: JSON lines at `level` (LOG_LEVEL), to stdout unless told otherwise. */
export const createLogger = (level: Level | 'silent', destination?: DestinationStream): Logger =>
  destination === undefined ? pino({ level, redact }) : pino({ level, redact }, destination)

// Probes and scrapes come every few seconds; they are logged only at debug.
const quietRoutes = new Set(['/healthz', '/readyz', '/metrics'])

// A caller's id is kept only if it is short and plain, so it cannot forge log lines.
const saneRequestId = /^[A-Za-z0-9._:-]{1,128}$/

const requestId = (ctx: Context): string => {
  const given = ctx.get('X-Request-Id')
  return saneRequestId.test(given) ? given : randomUUID()
}

/** One JSON line per request: its id (echoed as `X-Request-Id`), route, status and duration. */
export function requestLog(logger: Logger) {
  // Redacted here too, whatever logger the service was given.
  const log = logger.child({}, { redact })

  return async (ctx: Context, next: Next): Promise<void> => {
    const started = performance.now()
    const id = requestId(ctx)
    ctx.state['requestId'] = id
    ctx.set('X-Request-Id', id)
    try {
      await next()
    } finally {
      const line = {
        reqId: id,
        req: { method: ctx.method, url: ctx.originalUrl, headers: ctx.headers },
        route: routeOf(ctx),
        status: ctx.status,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      }
      if (ctx.status >= 500) log.error(line, 'request failed')
      else if (quietRoutes.has(line.route)) log.debug(line, 'request completed')
      else log.info(line, 'request completed')
    }
  }
}
