import { randomUUID } from 'node:crypto'
import type { Context, Next } from 'koa'
import pino, { type DestinationStream, type Level, type Logger } from 'pino'
import { notedFailure } from './failure-log'
import { routeOf } from './paths'

const censor = '[redacted]'

/**
 * Headers that carry credentials; pino censors them in any line the service's logger writes, as a second guard.
 * Request lines are the exception: their headers and URL are censored before the line is built, by a wider rule.
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

// Names that say a header or query parameter carries a credential, whatever its exact spelling. `sig` and
// `code` only as a whole word of the name (`X-Webhook-Sig`, `?code=`), so `?codec=` or `X-Signal` stay.
const credentialName =
  /auth|cookie|token|secret|passw|pwd|api[-_]?key|^key$|signature|(^|[-_.])sig($|[-_.])|^code$|jwt|bearer|cert|credential|session/i

// Idempotency-Key names a command, not a caller: kept, so a retry can be traced in the log.
const notCredentials = new Set(['idempotency-key'])

const isCredential = (name: string): boolean => !notCredentials.has(name.toLowerCase()) && credentialName.test(name)

// Header names repeat from request to request, so each one's verdict is kept; clients choose names, so only so many.
const headerVerdicts = new Map<string, boolean>()
const mostHeaderVerdicts = 1_024

const isCredentialHeader = (name: string): boolean => {
  let verdict = headerVerdicts.get(name)
  if (verdict === undefined) {
    verdict = isCredential(name)
    if (headerVerdicts.size < mostHeaderVerdicts) headerVerdicts.set(name, verdict)
  }
  return verdict
}

/**
 * The headers with every credential-bearing one censored. A loop, not entries, map and fromEntries, which made two
 * arrays of pairs for every request. Assignment copies every name Node gives: it drops a header
 * named `__proto__` itself.
 */
const loggedHeaders = (headers: Record<string, unknown>): Record<string, unknown> => {
  const logged: Record<string, unknown> = {}
  for (const name of Object.keys(headers)) logged[name] = isCredentialHeader(name) ? censor : headers[name]
  return logged
}

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
      return isCredential(decodedName(name)) ? `${name}=${censor}` : pair
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
  const given = ctx.get('X-Request-Id')
  return saneRequestId.test(given) ? given : randomUUID()
}

/** One JSON line per request: its id (echoed as `X-Request-Id`), route, status and duration. */
export function requestLog(logger: Logger) {
  // No pino redaction for these lines: `loggedHeaders` censors every header a redact path names (and any other
  // spelling of a credential's name) and the line holds nothing else they name, so pino's clone and walk of the
  // headers for every request would find nothing left to censor. Whatever logger the service was given, these
  // lines are censored the same; its other lines keep its own redaction.
  const log = logger.child({}, { redact: [] })

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
        req: { method: ctx.method, url: loggedUrl(ctx.originalUrl), headers: loggedHeaders(ctx.headers) },
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
