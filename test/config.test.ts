import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { parseConfig, type Config } from '../src/config'
import { defaultStreamSettings } from '../src/http/app'

const parsed = (env: Record<string, string | undefined>): Config => {
  const result = parseConfig(env)
  if (E.isLeft(result)) throw new Error(`expected a valid configuration, got: ${result.left}`)
  return result.right
}

const refusal = (env: Record<string, string | undefined>): string => {
  const result = parseConfig(env)
  if (E.isRight(result)) throw new Error(`expected ${JSON.stringify(env)} to be refused`)
  return result.left
}

describe('configuration', function () {
  it('has a documented default for every setting', function () {
    expect(parsed({})).to.deep.equal({
      port: 3000,
      host: '127.0.0.1',
      store: { kind: 'sqlite', path: './data/points.db' },
      limits: { maxAmount: 1_000_000, maxBalance: 10_000_000, maxHoldTtlMillis: 86_400_000, defaultHoldTtlMillis: 900_000, maxActiveHolds: 100 },
      logLevel: 'info',
      shutdownTimeoutMs: 10_000,
      apiKeys: undefined,
      http: { headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 },
      publicUrl: undefined,
      idempotencyRetentionMs: 86_400_000,
      holdSweepIntervalMs: 1_000,
      feed: { pollMs: 100, heartbeatMs: 15_000, streamBufferBytes: 1_048_576, maxStreams: 256 },
      stateCacheSize: 50_000,
      logBufferBytes: 4_096,
    })
  })

  it('defaults the feed to what an app built without settings streams with, so the two cannot drift apart', function () {
    const { feed } = parsed({})
    expect({ heartbeatMillis: feed.heartbeatMs, bufferBytes: feed.streamBufferBytes, maxStreams: feed.maxStreams }).to.deep.equal({
      heartbeatMillis: defaultStreamSettings.heartbeatMillis,
      bufferBytes: defaultStreamSettings.bufferBytes,
      maxStreams: defaultStreamSettings.maxStreams,
    })
  })

  it('treats an empty variable as unset', function () {
    expect(parsed({ PORT: '', POINT_MAX_AMOUNT: '' })).to.include({ port: 3000 })
    expect(parsed({ POINT_MAX_AMOUNT: '' }).limits.maxAmount).to.equal(1_000_000)
  })

  const readings: ReadonlyArray<{ env: Record<string, string>; expected: Partial<Config> }> = [
    { env: { PORT: '8080' }, expected: { port: 8080 } },
    { env: { PORT: '0' }, expected: { port: 0 } },
    { env: { HOST: '0.0.0.0' }, expected: { host: '0.0.0.0' } },
    { env: { POINT_STORE: 'memory' }, expected: { store: { kind: 'memory' } } },
    { env: { POINT_STORE: 'sqlite' }, expected: { store: { kind: 'sqlite', path: './data/points.db' } } },
    { env: { SQLITE_PATH: '/tmp/p.db' }, expected: { store: { kind: 'sqlite', path: '/tmp/p.db' } } },
    { env: { LOG_LEVEL: 'debug' }, expected: { logLevel: 'debug' } },
    { env: { POINT_MAX_AMOUNT: '500' }, expected: { limits: { maxAmount: 500, maxBalance: 10_000_000, maxHoldTtlMillis: 86_400_000, defaultHoldTtlMillis: 900_000, maxActiveHolds: 100 } } },
    { env: { POINT_MAX_BALANCE: '9000', POINT_MAX_AMOUNT: '9000' }, expected: { limits: { maxAmount: 9000, maxBalance: 9000, maxHoldTtlMillis: 86_400_000, defaultHoldTtlMillis: 900_000, maxActiveHolds: 100 } } },
    { env: { HOLD_DEFAULT_TTL_SECONDS: '60', HOLD_MAX_TTL_SECONDS: '3600' }, expected: { limits: { maxAmount: 1_000_000, maxBalance: 10_000_000, maxHoldTtlMillis: 3_600_000, defaultHoldTtlMillis: 60_000, maxActiveHolds: 100 } } },
    { env: { HOLD_SWEEP_INTERVAL_MS: '250' }, expected: { holdSweepIntervalMs: 250 } },
    { env: { HOLD_SWEEP_INTERVAL_MS: '2000000000' }, expected: { holdSweepIntervalMs: 2_000_000_000 } },
    { env: { SHUTDOWN_TIMEOUT_MS: '2000000000' }, expected: { shutdownTimeoutMs: 2_000_000_000 } },
    { env: { HOLD_MAX_ACTIVE: '3' }, expected: { limits: { maxAmount: 1_000_000, maxBalance: 10_000_000, maxHoldTtlMillis: 86_400_000, defaultHoldTtlMillis: 900_000, maxActiveHolds: 3 } } },
    { env: { IDEMPOTENCY_RETENTION_SECONDS: '3600' }, expected: { idempotencyRetentionMs: 3_600_000 } },
    { env: { IDEMPOTENCY_RETENTION_SECONDS: '1' }, expected: { idempotencyRetentionMs: 1_000 } },
    {
      env: { FEED_POLL_MS: '25', FEED_HEARTBEAT_MS: '2000', FEED_STREAM_BUFFER_BYTES: '65536', FEED_MAX_STREAMS: '3' },
      expected: { feed: { pollMs: 25, heartbeatMs: 2_000, streamBufferBytes: 65_536, maxStreams: 3 } },
    },
    { env: { POINT_STATE_CACHE_SIZE: '0' }, expected: { stateCacheSize: 0 } },
    { env: { POINT_STATE_CACHE_SIZE: '2500' }, expected: { stateCacheSize: 2_500 } },
    { env: { LOG_BUFFER_BYTES: '0' }, expected: { logBufferBytes: 0 } },
    { env: { LOG_BUFFER_BYTES: '16384' }, expected: { logBufferBytes: 16_384 } },
  ]
  for (const { env, expected } of readings) {
    it(`reads ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`, function () {
      expect(parsed(env)).to.deep.include(expected)
    })
  }

  const refused: ReadonlyArray<readonly [string, string]> = [
    ['PORT', 'abc'],
    ['PORT', '-1'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['POINT_MAX_AMOUNT', '0'],
    ['POINT_MAX_AMOUNT', '1e3'],
    ['POINT_MAX_AMOUNT', ' 12 '],
    ['POINT_MAX_AMOUNT', '0x10'],
    ['POINT_MAX_AMOUNT', 'abc'],
    ['POINT_MAX_AMOUNT', '9007199254740993'],
    ['POINT_MAX_BALANCE', '-5'],
    ['POINT_MAX_BALANCE', '012'],
    ['POINT_STORE', 'foo'],
    ['LOG_LEVEL', 'loud'],
    ['IDEMPOTENCY_RETENTION_SECONDS', '0'],
    ['IDEMPOTENCY_RETENTION_SECONDS', '-60'],
    ['IDEMPOTENCY_RETENTION_SECONDS', '1.5'],
    ['IDEMPOTENCY_RETENTION_SECONDS', '24h'],
    ['IDEMPOTENCY_RETENTION_SECONDS', '9007199254741'],
    ['FEED_POLL_MS', '0'],
    ['FEED_POLL_MS', '5'],
    ['FEED_HEARTBEAT_MS', '1e4'],
    ['FEED_STREAM_BUFFER_BYTES', '100'],
    ['FEED_STREAM_BUFFER_BYTES', '1mb'],
    ['FEED_MAX_STREAMS', '0'],
    ['FEED_MAX_STREAMS', '100001'],
    ['POINT_STATE_CACHE_SIZE', '-1'],
    ['POINT_STATE_CACHE_SIZE', '1k'],
    ['POINT_STATE_CACHE_SIZE', '10000001'],
    ['LOG_BUFFER_BYTES', '-1'],
    ['LOG_BUFFER_BYTES', '16385'],
    ['LOG_BUFFER_BYTES', '4kb'],
    ['LOG_BUFFER_BYTES', '4e3'],
    ['LOG_BUFFER_BYTES', ' 4096'],
    ['HOLD_SWEEP_INTERVAL_MS', '2000000001'],
    ['SHUTDOWN_TIMEOUT_MS', '2000000001'],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', '9007199254740991'],
    ['HTTP_HEADERS_TIMEOUT_MS', '0'],
    ['PG_STATEMENT_TIMEOUT_MS', '2000000001'],
    ['HOLD_MAX_ACTIVE', '0'],
    ['HOLD_MAX_ACTIVE', '100001'],
    ['HOLD_MAX_ACTIVE', '1e2'],
  ]
  for (const [name, value] of refused) {
    it(`refuses ${name}=${JSON.stringify(value)} with a message naming ${name}`, function () {
      expect(refusal({ [name]: value })).to.include(name)
    })
  }

  it('refuses a per-transaction limit above the balance limit, naming both', function () {
    const message = refusal({ POINT_MAX_AMOUNT: '501', POINT_MAX_BALANCE: '500' })
    expect(message).to.include('POINT_MAX_AMOUNT').and.include('POINT_MAX_BALANCE')
  })

  it('names every bad variable at once', function () {
    const message = refusal({ PORT: 'abc', POINT_STORE: 'foo' })
    expect(message).to.include('PORT').and.include('POINT_STORE')
  })
})
