import type { IncomingMessage, ServerResponse } from 'node:http'
import helmet, { type HelmetOptions } from 'helmet'
import type { Context, Next } from 'koa'

/** What helmet did to a response: the headers it set, in order, and the ones it removed. */
interface HelmetHeaders {
  readonly set: ReadonlyArray<readonly [string, string]>
  readonly removed: readonly string[]
}

/**
 * Runs helmet once against a response that only records, so its options are checked and its header values worked
 * out at startup. Every directive here is a constant (no per-request function such as a nonce), so each response
 * would get exactly these; helmet's own middleware would work them out again for every request.
 */
export const headersOf = (options: HelmetOptions): HelmetHeaders => {
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
  return { set: [...set], removed }
}

/** helmet's headers for `options`, worked out once and set on every response ahead of the rest of the app. */
export function securityHeaders(options: HelmetOptions) {
  const { set, removed } = headersOf(options)
  return (ctx: Context, next: Next): Promise<void> => {
    const response = ctx.res
    for (const name of removed) response.removeHeader(name)
    for (const [name, value] of set) response.setHeader(name, value)
    return next()
  }
}
