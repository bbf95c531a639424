import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as t from 'io-ts'
import { OptionalApiKeys, type ApiKey } from './api-keys'
import { decimalIntIn, describeErrors, withDefault } from './codecs'

const Port = decimalIntIn(0, 65535, 'Port')
const PositiveInt = decimalIntIn(1, Number.MAX_SAFE_INTEGER, 'PositiveInt')
// Node runs a timer set past 2^31 − 1 ms after 1 ms instead (a sweep every millisecond, keep-alive cut at once),
// and PostgreSQL's statement_timeout is a 32-bit count of milliseconds. Some durations get a margin added before
// they reach a timer (the shutdown's 5 s watchdog, the client's 1 s past the statement timeout), so every one
// stays well within it: about 23 days.
const longestDurationMillis = 2_000_000_000
const TimerMillis = decimalIntIn(1, longestDurationMillis, 'Millis')

export const StoreKind = t.keyof({ memory: null, sqlite: null, postgres: null })
export type StoreKind = t.TypeOf<typeof StoreKind>

/**
 * `PUBLIC_URL`: where clients reach the service when a proxy stands in front of it, named as the API document's
 * server. An absolute http or https URL with no credentials, query or fragment; a trailing slash is dropped.
 */
const PublicUrl = new t.Type<string | undefined, string | undefined, unknown>(
  'PublicUrl',
  (u): u is string | undefined => u === undefined || typeof u === 'string',
  (u, c) => {
    if (u === undefined || u === '') return t.success(undefined)
    const url = typeof u === 'string' && URL.canParse(u) ? new URL(u) : undefined
    const plain = url !== undefined && ['http:', 'https:'].includes(url.protocol) && url.username === '' && url.password === ''
    return plain && !/[?#]/.test(u as string)
      ? t.success(url.href.replace(/\/+$/, ''))
      : t.failure(u, c, 'expected an absolute http or https URL without credentials, query or fragment')
  },
  t.identity,
)

export const LogLevel = t.keyof({ fatal: null, error: null, warn: null, info: null, debug: null, trace: null, silent: null })

/** Every variable the service reads, with its default. The README's table mirrors this. */
const Environment = t.type({
  PORT: withDefault(Port, 3000),
  HOST: withDefault(t.string, '127.0.0.1'),
  POINT_STORE: withDefault(StoreKind, 'sqlite'),
  SQLITE_PATH: withDefault(t.string, './data/points.db'),
  DATABASE_URL: t.union([t.string, t.undefined]),
  PG_POOL_SIZE: withDefault(PositiveInt, 10),
  PG_STATEMENT_TIMEOUT_MS: withDefault(decimalIntIn(0, longestDurationMillis, 'Millis'), 5_000),
  POINT_MAX_AMOUNT: withDefault(PositiveInt, 1_000_000),
  POINT_MAX_BALANCE: withDefault(PositiveInt, 10_000_000),
  LOG_LEVEL: withDefault(LogLevel, 'info'),
  SHUTDOWN_TIMEOUT_MS: withDefault(TimerMillis, 10_000),
  POINT_API_KEYS: OptionalApiKeys,
  HTTP_HEADERS_TIMEOUT_MS: withDefault(TimerMillis, 5_000),
  HTTP_REQUEST_TIMEOUT_MS: withDefault(TimerMillis, 10_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: withDefault(TimerMillis, 5_000),
  PUBLIC_URL: PublicUrl,
  // At most what fits in milliseconds as a safe integer.
  IDEMPOTENCY_RETENTION_SECONDS: withDefault(decimalIntIn(1, Math.floor(Number.MAX_SAFE_INTEGER / 1000), 'Seconds'), 86_400),
  HOLD_DEFAULT_TTL_SECONDS: withDefault(decimalIntIn(1, Math.floor(Number.MAX_SAFE_INTEGER / 1000), 'Seconds'), 900),
  HOLD_MAX_TTL_SECONDS: withDefault(decimalIntIn(1, Math.floor(Number.MAX_SAFE_INTEGER / 1000), 'Seconds'), 86_400),
  HOLD_SWEEP_INTERVAL_MS: withDefault(TimerMillis, 1_000),
  HOLD_MAX_ACTIVE: withDefault(decimalIntIn(1, 100_000, 'Count'), 100),
  FEED_POLL_MS: withDefault(decimalIntIn(10, 60_000, 'Millis'), 100),
  FEED_HEARTBEAT_MS: withDefault(decimalIntIn(100, 3_600_000, 'Millis'), 15_000),
  FEED_STREAM_BUFFER_BYTES: withDefault(decimalIntIn(1_024, 1_073_741_824, 'Bytes'), 1_048_576),
  FEED_MAX_STREAMS: withDefault(decimalIntIn(1, 100_000, 'Count'), 256),
  // About 60 bytes an entry; 0 turns the cache off.
  POINT_STATE_CACHE_SIZE: withDefault(decimalIntIn(0, 10_000_000, 'Count'), 50_000),
  // 0 writes each line on its own. At most sonic-boom's own largest write: it measures its pending chunk on every
  // line, so a bigger buffer costs more than it saves (docs/performance.md).
  LOG_BUFFER_BYTES: withDefault(decimalIntIn(0, 16_384, 'Bytes'), 4_096),
})
type Environment = t.TypeOf<typeof Environment>

/** Which store the service runs on, with what only that store needs. */
export type StoreConfig =
  | { readonly kind: 'memory' }
  | { readonly kind: 'sqlite'; readonly path: string }
  /** PostgreSQL: where, how many connections per instance, longest statement. */
  | { readonly kind: 'postgres'; readonly url: string; readonly poolSize: number; readonly statementTimeoutMs: number }

export interface Config {
  readonly port: number
  readonly host: string
  readonly store: StoreConfig
  readonly limits: {
    readonly maxAmount: number
    readonly maxBalance: number
    readonly maxHoldTtlMillis?: number
    readonly defaultHoldTtlMillis?: number
    readonly maxActiveHolds?: number
  }
  /** How often the sweeper records the expiry of holds past theirs: the most an EXPIRE event lags, plus one pass. */
  readonly holdSweepIntervalMs: number
  readonly logLevel: t.TypeOf<typeof LogLevel>
  /** How long a shutdown waits for accepted requests before cutting them off. */
  readonly shutdownTimeoutMs: number
  /** Keys and their scopes; undefined runs the API open. */
  readonly apiKeys: readonly ApiKey[] | undefined
  /** How long a client may take to send its headers, its whole request, and how long an idle connection stays open. */
  readonly http: HttpLimits
  /** The URL clients use, when a proxy stands in front; undefined: the address the service listens on. */
  readonly publicUrl: string | undefined
  /** How long an idempotency receipt answers a retry; after it, the same key is a new command. */
  readonly idempotencyRetentionMs: number
  /** The change feed's live streams. */
  readonly feed: FeedSettings
  /** How many idle users' last decided states each instance keeps, so their next command skips a read. */
  readonly stateCacheSize: number
  /** Log lines held in memory before one write to stdout, in bytes; 0: a write per line. */
  readonly logBufferBytes: number
}


export interface FeedSettings {
  /** How often an instance with streams open looks for events other instances committed. */
  readonly pollMs: number
  /** How often a stream sends a comment line, so proxies and clients see it alive. */
  readonly heartbeatMs: number
  /** Bytes a stream may have unsent before its client is disconnected as too slow. */
  readonly streamBufferBytes: number
  /** Streams an instance serves at once; so a stream's buffer times this bounds what slow clients can hold. */
  readonly maxStreams: number
}

export interface HttpLimits {
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly keepAliveTimeoutMs: number
}

const toStoreConfig = (env: Environment): E.Either<string, StoreConfig> => {
  switch (env.POINT_STORE) {
    case 'memory':
      return E.right({ kind: 'memory' })
    case 'sqlite':
      return E.right({ kind: 'sqlite', path: env.SQLITE_PATH })
    case 'postgres':
      return (env.DATABASE_URL ?? '') === ''
        ? E.left('POINT_STORE=postgres needs DATABASE_URL, e.g. postgres://user:password@host:5432/points')
        : E.right({ kind: 'postgres', url: env.DATABASE_URL ?? '', poolSize: env.PG_POOL_SIZE, statementTimeoutMs: env.PG_STATEMENT_TIMEOUT_MS })
  }
}

const toConfig = (env: Environment): E.Either<string, Config> =>
  env.POINT_MAX_AMOUNT > env.POINT_MAX_BALANCE
    ? E.left('POINT_MAX_AMOUNT must not exceed POINT_MAX_BALANCE')
    : env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS
      ? E.left('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS: the headers are part of the request')
      : env.HOLD_DEFAULT_TTL_SECONDS > env.HOLD_MAX_TTL_SECONDS
        ? E.left('HOLD_DEFAULT_TTL_SECONDS must not exceed HOLD_MAX_TTL_SECONDS')
        : E.map((store: StoreConfig): Config => ({
        port: env.PORT,
        host: env.HOST,
        store,
        limits: {
          maxAmount: env.POINT_MAX_AMOUNT,
          maxBalance: env.POINT_MAX_BALANCE,
          maxHoldTtlMillis: env.HOLD_MAX_TTL_SECONDS * 1000,
          defaultHoldTtlMillis: env.HOLD_DEFAULT_TTL_SECONDS * 1000,
          maxActiveHolds: env.HOLD_MAX_ACTIVE,
        },
        holdSweepIntervalMs: env.HOLD_SWEEP_INTERVAL_MS,
        logLevel: env.LOG_LEVEL,
        shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
        apiKeys: env.POINT_API_KEYS,
        http: {
          headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
          requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
          keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
        },
        publicUrl: env.PUBLIC_URL,
        idempotencyRetentionMs: env.IDEMPOTENCY_RETENTION_SECONDS * 1000,
        feed: { pollMs: env.FEED_POLL_MS, heartbeatMs: env.FEED_HEARTBEAT_MS, streamBufferBytes: env.FEED_STREAM_BUFFER_BYTES, maxStreams: env.FEED_MAX_STREAMS },
        stateCacheSize: env.POINT_STATE_CACHE_SIZE,
        logBufferBytes: env.LOG_BUFFER_BYTES,
      }))(toStoreConfig(env))

/** Validates a set of variables; the service calls `readConfig` instead. */
export const parseConfig = (env: Record<string, string | undefined>): E.Either<string, Config> =>
  pipe(
    Environment.decode(env),
    E.mapLeft((errors) => `invalid configuration: ${describeErrors(errors)}`),
    E.flatMap(toConfig),
  )

/** The one place that reads the process environment. */
export const readConfig = (): E.Either<string, Config> => parseConfig(process.env)
