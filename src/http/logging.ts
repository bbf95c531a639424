import { randomUUID } from 'node:crypto'
import type { Context, Next } from 'koa'
import pino, { type DestinationStream, type Level, type Logger } from 'pino'
import { notedFailure } from './failure-log'
import { routeOf } from './paths'

const censor = '[redacted]'

/**
 * Headers that carry credentials; pino censors them in any line the service's logger writes, as a second guard.
 * Request lines are the exception: they hold only the allowlisted headers, and a URL censored by a wider rule.
 */
const redact = {
  paths: [
    'req.headers.authorization',
    'req.headers["proxy-authorization"]',
    'req.headers.cookie',
    'req.headers["set-cookie"]',
    'req.headers["x-api-key"]',
    'res.headers["set-cookie"]',
  ],
  censor,
}

// Names that say a query parameter carries a credential, whatever its exact spelling. `sig` and `code` only as a
// whole word of the name (`?sig=`, `?code=`), so `?codec=` or `?signal=` stay.
const credentialName =
  /auth|cookie|token|secret|passw|pwd|api[-_]?key|^key$|signature|(^|[-_.])sig($|[-_.])|^code$|jwt|bearer|cert|credential|session/i

/**
 * The request headers a line keeps: enough to trace a request through proxies and retries, none that can carry a
 * credential. Every other header is left out rather than censored, so a credential under a name no rule foresaw
 * never reaches the log, and the line costs the same however many headers a client sends. `Idempotency-Key` names
 * a command, not a caller: kept, so a retry can be traced. `Referer` is not kept: it is a URL, and its query is
 * the caller's page's, which may hold a token. One object literal, not a loop over a list: one shape for V8, no
 * array per request, and pino's JSON leaves out the headers the request did not send.
 */
const loggedHeaders = (headers: Record<string, string | string[] | undefined>) => ({
  'content-type': headers['content-type'],
  'content-length': headers['content-length'],
  'user-agent': headers['user-agent'],
  'idempotency-key': headers['idempotency-key'],
  'x-forwarded-for': headers['x-forwarded-for'],
  forwarded: headers['forwarded'],
  traceparent: headers['traceparent'],
})

const decodedName = (raw: string): string => {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {
    return raw
  }
}

/** The URL with the value of every credential-bearing query parameter censored; the rest is left as sent. */
const loggedUrl = (url: string): string => {
  const query = url.indexOf('?')
  if (query < 0) return url
  const parameters = url
    .slice(query + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=')
      const name = equals < 0 ? pair : pair.slice(0, equals)
      return credentialName.test(decodedName(name)) ? `${name}=${censor}` : pair
    })
  return `${url.slice(0, query)}?${parameters.join('&')}`
}

/** The service's logger: JSON lines at `level` (LOG_LEVEL), to stdout unless told otherwise. */
export const createLogger = (level: Level | 'silent', destination?: DestinationStream): Logger =>
  destination === undefined ? pino({ level, redact }) : pino({ level, redact }, destination)

// Probes and scrapes come every few seconds; they are logged only at debug.
const quietRoutes = new Set(['/healthz', '/readyz', '/metrics'])

// A caller's id is kept only if it is short and plain, so it cannot forge log lines.
const saneRequestId = /^[A-Za-z0-9._:-]{1,128}$/

const requestId = (ctx: Context): string => {
  const given = ctx.get('x-request-id')
  return saneRequestId.test(given) ? given : randomUUID()
}

/** One JSON line per request: its id (echoed as `X-Request-Id`), route, status, duration and a few headers. */
export function requestLog(logger: Logger) {
  // No pino redaction for these lines: `loggedHeaders` keeps no header a redact path names, so pino's clone and
  // walk of the line for every request would find nothing to censor. Whatever logger the service was given, these
  // lines are censored the same; its other lines keep its own redaction.
  const log = logger.child({}, { redact: [] })

  return async (ctx: Context, next: Next): Promise<void> => {
    const started = performance.now()
    const id = requestId(ctx)
    ctx.state['requestId'] = id
    // In lower case, as Node keys it, so it is not lower-cased again for every response.
    ctx.set('x-request-id', id)
    try {
      await next()
    } finally {
      const line = {
        reqId: id,
        req: { method: ctx.method, url: loggedUrl(ctx.originalUrl), headers: loggedHeaders(ctx.req.headers) },
        route: routeOf(ctx),
        status: ctx.status,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        // Why a 5xx happened: the store's or the bug's code and message.
        error: notedFailure(ctx),
      }
      // 501 answers a method no route implements (a scanner's TRACE): the caller's doing, not a failure to page for.
      if (ctx.status >= 500 && ctx.status !== 501) log.error(line, 'request failed')
      else if (quietRoutes.has(line.route)) log.debug(line, 'request completed')
      else log.info(line, 'request completed')
    }
  }
}
