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
 * Runs helmet once against a response that only records, so its options are checked and its header values worked
 * out at startup. Every directive here is a constant (no per-request function such as a nonce), so each response
 * would get exactly these; helmet's own middleware would work them out again for every request. `more` follow.
 */
export const headersOf = ({ helmet: options, more = {} }: SecurityHeaders): HeaderChanges => {
  const set = new Map<string, string>()
  const removed: string[] = []
  const recorder = {
    setHeader: (name: string, value: unknown) => set.set(name, String(value)),
    removeHeader: (name: string) => {
      set.delete(name)
      removed.push(name)
    },
  }
  let finished: { error?: unknown } | undefined
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    finished = { error }
  })
  // A deferred or failed run means the options need a request to decide: a programmer error here.
  if (finished === undefined) throw new Error('helmet did not finish synchronously; the headers cannot be worked out once')
  if (finished.error !== undefined) throw finished.error instanceof Error ? finished.error : new Error('helmet refused its options')
  return { set: [...set, ...Object.entries(more)], removed }
}

/** The headers of `headers`, worked out once and set on every response that passes, replacing any set before. */
export function securityHeaders(headers: SecurityHeaders) {
  const { set, removed } = headersOf(headers)
  return (ctx: Context, next: Next): Promise<void> => {
    const response = ctx.res
    for (const name of removed) response.removeHeader(name)
    for (const [name, value] of set) response.setHeader(name, value)
    return next()
  }
}
