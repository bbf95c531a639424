import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context, Next } from 'koa'
import type { ApiKey, Scope } from '../apiKeys'
import { isPointPath } from './paths'
import { problem, sendProblem } from './problem'

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

/** The scope a request needs; undefined for methods no route serves, which the router then refuses. */
const neededScope = (method: string, path: string): Scope | undefined => {
  if (method === 'GET' || method === 'HEAD') return 'read'
  if (method !== 'PATCH') return undefined
  if (path.endsWith('/charge')) return 'charge'
  if (path.endsWith('/use')) return 'use'
  return undefined
}

/** Guards every `/point` route with `Authorization: Bearer <key>` and the key's scopes. */
export function requireApiKey(keys: readonly ApiKey[]) {
  const known: KnownKey[] = keys.map(({ key, scopes }) => ({ digest: digest(key), scopes: new Set(scopes) }))

  return async (ctx: Context, next: Next): Promise<void> => {
    if (!isPointPath(ctx.path)) {
      await next()
      return
    }
    const presented = bearerToken(ctx.get('Authorization'))
    const key = presented === undefined ? undefined : lookUp(known, presented)
    if (key === undefined) {
      ctx.set('WWW-Authenticate', 'Bearer realm="point-ledger"')
      const detail = presented === undefined ? 'send Authorization: Bearer <key>' : 'the API key is not known'
      return sendProblem(ctx, problem('UNAUTHORIZED', detail))
    }
    const scope = neededScope(ctx.method, ctx.path)
    if (scope !== undefined && !key.scopes.has(scope)) {
      return sendProblem(ctx, problem('FORBIDDEN', `the API key lacks the "${scope}" scope`))
    }
    await next()
  }
}
