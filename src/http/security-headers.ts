import type { IncomingMessage, ServerResponse } from 'node:http'
import helmet, { type HelmetOptions } from 'helmet'
import type { Context, Next } from 'koa'

/** What a set of security headers does to a response: the headers it sets, in order, and the ones it removes. */
interface HeaderChanges {
  readonly set: ReadonlyArray<readonly [string, string]>
  readonly removed: readonly string[]
}

/** A set of security headers: helmet's for these options, and any it has no option for, set after its own. */
export interface SecurityHeaders {
  readonly helmet: HelmetOptions
  readonly more?: Readonly<Record<string, string>>
}

/**
 * helmet's headers for the one HTML document, the docs page and its files: helmet's defaults, except that
 * sub-resources are not forced to https, since the service speaks plain HTTP behind whatever terminates TLS.
 */
export const documentHeaders: SecurityHeaders = { helmet: { contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } } }

/**
 * The headers for every other answer, all JSON: those OWASP's REST Security Cheat Sheet lists for an API (a
 * policy of `frame-ancestors 'none'`, to which `default-src 'none'` is added so a body rendered by a browser loads
 * nothing either; no framing; no sniffing; HSTS; and `Cache-Control: no-store`, so no cache anywhere keeps a
 * balance or a history), with helmet's `Referrer-Policy` and same-origin `Cross-Origin-Resource-Policy` kept.
 * helmet's headers that govern only an HTML document (its opener, agent cluster, DNS prefetching, IE's downloads,
 * Flash's policy files, the old XSS filter) are left out: each is a `setHeader` on every answer, and a JSON body
 * gives them nothing to protect.
 */
export const apiHeaders: SecurityHeaders = {
  helmet: {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    xFrameOptions: { action: 'deny' },
  },
  more: { 'Cache-Control': 'no-store' },
}

/**
 * Runs helmet once against a response that only records, so its options are checked and its header values worked
 * out at startup. Every directive here is a constant (no per-request function such as a nonce), so each response
 * would get exactly these; helmet's own middleware would work them out again for every request. `more`, which
 * helmet has no option for, come after its own. Names are kept in lower case, as Node keys them: `setHeader` then
 * finds its key already made instead of lower-casing a new string and looking it up for every header of every
 * response (about a third of what the seven cost; header names are case-insensitive on the wire).
 */
export const headersOf = ({ helmet: options, more = {} }: SecurityHeaders): HeaderChanges => {
  const set = new Map<string, string>()
  const removed: string[] = []
  const recorder = {
    setHeader: (name: string, value: unknown) => set.set(name.toLowerCase(), String(value)),
    removeHeader: (name: string) => {
      set.delete(name.toLowerCase())
      removed.push(name.toLowerCase())
    },
  }
  let finished: { error?: unknown } | undefined
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    finished = { error }
  })
  // A deferred or failed run means the options need a request to decide: a programmer error here.
  if (finished === undefined) throw new Error('helmet did not finish synchronously; the headers cannot be worked out once')
  if (finished.error !== undefined) throw finished.error instanceof Error ? finished.error : new Error('helmet refused its options')
  return { set: [...set, ...Object.entries(more).map(([name, value]) => [name.toLowerCase(), value] as const)], removed }
}

/**
 * Sets the headers of `headers`, worked out once, on a response. Each replaces only a header of the same name set
 * before: the docs' set, set over the API's, leaves the API's `Cache-Control: no-store` on the page, as meant.
 */
export function securityHeaderSetter(headers: SecurityHeaders): (response: ServerResponse) => void {
  const { set, removed } = headersOf(headers)
  return (response) => {
    for (const name of removed) response.removeHeader(name)
    for (const [name, value] of set) response.setHeader(name, value)
  }
}

/** The headers of `headers` on every response that passes. */
export function securityHeaders(headers: SecurityHeaders) {
  const setOn = securityHeaderSetter(headers)
  return (ctx: Context, next: Next): Promise<void> => {
    setOn(ctx.res)
    return next()
  }
}
