import { randomUUID } from 'node:crypto'
import type { Context, Next } from 'koa'
import type { Logger } from 'pino'
import { routeOf } from './paths'

/** Headers that carry credentials; they are censored before a line is written. */
export const redactedPaths = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]']

// A caller's id is kept only if it is short and plain, so it cannot forge log lines.
const saneRequestId = /^[A-Za-z0-9._:-]{1,128}$/

const requestId = (ctx: Context): string => {
  const given = ctx.get('X-Request-Id')
  return saneRequestId.test(given) ? given : randomUUID()
}

/** One JSON line per request: its id (echoed as `X-Request-Id`), route, status and duration. */
export function requestLog(logger: Logger) {
  const log = logger.child({}, { redact: { paths: redactedPaths, censor: '[redacted]' } })

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
      else log.info(line, 'request completed')
    }
  }
}
