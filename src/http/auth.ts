import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context, Middleware, Next } from 'koa'
import type { ApiKey, Scope } from '../api-keys'
import { problem, sendProblem, type Problem } from './problem'

interface KnownKey {
  readonly digest: Buffer
  readonly scopes: ReadonlySet<Scope>
}

// Hashing first gives equal lengths, so timingSafeEqual applies and a key's length does not leak.
const digest = (key: string): Buffer => createHash('sha256').update(key).digest()

/** The key whose digest matches; every key is compared, so the time does not say which one. */
const lookUp = (known: readonly KnownKey[], presented: string): KnownKey | undefined => {
  const wanted = digest(presented)
  let found: KnownKey | undefined
  for (const key of known) {
    if (timingSafeEqual(key.digest, wanted)) found = key
  }
  return found
}

const bearerToken = (header: string): string | undefined => /^Bearer +(\S+) *$/i.exec(header)?.[1]

/** Makes the guard a route declares: its handler runs only for a known key with `scope`. */
export type RequireScope = (scope: Scope) => Middleware

/** Every route lets anyone in: the service runs without keys. */
export const openAccess: RequireScope = () => (_ctx, next) => next()

/**
 * Guards with `Authorization: Bearer <key>`. Each route registers the guard for its own scope,
 * so the route that serves a request decides what it needs; nothing looks at the path.
 */
export function requireApiKey(keys: readonly ApiKey[]): RequireScope {
  const known: KnownKey[] = keys.map(({ key, scopes }) => ({ digest: digest(key), scopes: new Set(scopes) }))

  /** The refusal for a request, or undefined when its key has `scope`. */
  const refused = (ctx: Context, scope: Scope): Problem | undefined => {
    // Node keeps only the first of two Authorization headers; a proxy may act on the other, so neither is trusted.
    if ((ctx.req.headersDistinct['authorization']?.length ?? 0) > 1) return problem('INVALID_REQUEST', 'Authorization: send the header once')
    const presented = bearerToken(ctx.get('Authorization'))
    const key = presented === undefined ? undefined : lookUp(known, presented)
    if (key === undefined) {
      ctx.set('WWW-Authenticate', 'Bearer realm="point-ledger"')
      return problem('UNAUTHORIZED', presented === undefined ? 'send Authorization: Bearer <key>' : 'the API key is not known')
    }
    return key.scopes.has(scope) ? undefined : problem('FORBIDDEN', `the API key lacks the "${scope}" scope`)
  }

  // Not async: a let-in request gets `next`'s promise itself, not one more awaiting it; koa-compose makes a throw
  // here a rejection as it would be from an async function.
  return (scope) =>
    (ctx: Context, next: Next): Promise<void> => {
      const refusal = refused(ctx, scope)
      if (refusal === undefined) return next()
      sendProblem(ctx, refusal)
      return Promise.resolve()
    }
}
