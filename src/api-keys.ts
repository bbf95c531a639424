import * as t from 'io-ts'

/** What a key may do: read balances, histories and holds, charge, use, refund, place and resolve holds, scrape `/metrics`, or follow the change feed. */
export const Scope = t.keyof({ read: null, charge: null, use: null, refund: null, hold: null, metrics: null, feed: null })
export type Scope = t.TypeOf<typeof Scope>

export interface ApiKey {
  readonly key: string
  readonly scopes: readonly Scope[]
}

const keyPattern = /^[^\s:;,]+$/

/** Reads one `key:scope,scope` entry, or says what is wrong with it (never echoing the key). */
const parseEntry = (entry: string, index: number): ApiKey | string => {
  const where = `entry ${index + 1}`
  const colon = entry.indexOf(':')
  if (colon < 0) return `${where} has no ':' between key and scopes`
  const key = entry.slice(0, colon)
  if (!keyPattern.test(key)) return `${where} has an empty key or one with spaces, ':', ';' or ','`
  const scopes = entry.slice(colon + 1).split(',')
  const unknown = scopes.filter((scope) => !Scope.is(scope))
  if (unknown.length > 0) return `${where} has unknown scope(s) ${JSON.stringify(unknown)}; use read, charge, use, refund, hold, metrics, feed`
  return { key, scopes: scopes.filter(Scope.is) }
}

// The keys are secrets: a failure reports this in place of the value.
const hidden = '(value hidden)'

/** `POINT_API_KEYS`: `key:scope,scope;key:scope`, e.g. `k1:read,charge,use;k2:read`. */
export const ApiKeysFromString = new t.Type<readonly ApiKey[], string, unknown>(
  'ApiKeys',
  (u): u is readonly ApiKey[] => Array.isArray(u),
  (u, c) => {
    if (typeof u !== 'string') return t.failure(hidden, c, 'expected key:scope,scope;key:scope')
    const parsed = u.split(';').map(parseEntry)
    const errors = parsed.filter((p): p is string => typeof p === 'string')
    if (errors.length > 0) return t.failure(hidden, c, `expected key:scope,scope;key:scope, but ${errors.join('; ')}`)
    const keys = parsed.filter((p): p is ApiKey => typeof p !== 'string')
    const distinct = new Set(keys.map((k) => k.key))
    return distinct.size === keys.length ? t.success(keys) : t.failure(hidden, c, 'a key is listed twice')
  },
  (keys) => keys.map(({ key, scopes }) => `${key}:${scopes.join(',')}`).join(';'),
)

/**
 * Unset means no keys: the API runs open. Set but empty is refused: it is more likely a secret that failed to
 * arrive than a wish to run open, and guessing wrong would open every route.
 */
export const OptionalApiKeys = new t.Type<readonly ApiKey[] | undefined, string | undefined, unknown>(
  'OptionalApiKeys',
  (u): u is readonly ApiKey[] | undefined => u === undefined || ApiKeysFromString.is(u),
  (u, c) =>
    u === undefined
      ? t.success(undefined)
      : u === ''
        ? t.failure(u, c, 'POINT_API_KEYS is set but empty: give key:scope,scope;key:scope, or unset it to run the API open')
        : ApiKeysFromString.validate(u, c),
  (keys) => (keys === undefined ? undefined : ApiKeysFromString.encode(keys)),
)
