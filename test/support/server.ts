import type { AddressInfo } from 'node:net'
import pino from 'pino'
import type { Config } from '../../src/config'
import type { PointStore } from '../../src/events/store'
import { startService, type Service } from '../../src/service'
import { delegating } from '../../src/stores/delegating'
import type { StoreFixture } from '../stores/contract'
import { fastMemoryStore } from './tables'

export const testConfig = (overrides: Partial<Config> = {}): Config => ({
  port: 0,
  host: '127.0.0.1',
  store: { kind: 'memory' },
  limits: { maxAmount: 1_000_000, maxBalance: 10_000_000 },
  logLevel: 'silent',
  shutdownTimeoutMs: 5_000,
  apiKeys: undefined,
  http: { headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 },
  publicUrl: undefined,
  idempotencyRetentionMs: 86_400_000,
  holdSweepIntervalMs: 1_000,
  feed: { pollMs: 100, heartbeatMs: 15_000, streamBufferBytes: 1_048_576, maxStreams: 256 },
  stateCacheSize: 50_000,
  logBufferBytes: 0,
  ...overrides,
})

export interface TestServer {
  readonly url: string
  readonly service: Service
  readonly close: () => Promise<void>
}

/** A real listening service on a loopback port, on the given tables with short delays unless told otherwise. */
export async function startTestServer(
  options: { config?: Partial<Config>; store?: PointStore; clock?: () => number } = {},
): Promise<TestServer> {
  const service = await startService(testConfig(options.config), pino({ level: 'silent' }), options.store ?? fastMemoryStore(), options.clock)
  const { port } = service.server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, service, close: () => service.stop() }
}

/** Sends a JSON PATCH the way a client would. */
export const patchJson = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(url, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

/** The server a suite's hooks started, and the fixture's store behind it. */
export interface Served<S> {
  readonly server: TestServer
  readonly store: S
}

/**
 * Registers hooks that serve a fixture's store for the enclosing `describe`.
 * The fixture owns its store: stopping the server does not close it, `dispose` does.
 */
export function serveFixture<F extends StoreFixture>(fixture: () => Promise<F>, config: Partial<Config> = {}, clock?: () => number): Served<F['store']> {
  let current: F | undefined
  let server: TestServer | undefined
  before(async function () {
    current = await fixture()
    server = await startTestServer({ store: delegating(current.store, { close: () => Promise.resolve() }), config, ...(clock === undefined ? {} : { clock }) })
  })
  after(async function () {
    await server?.close()
    await current?.dispose()
  })
  const started = <A>(value: A | undefined): A => {
    if (value === undefined) throw new Error('the suite server has not started')
    return value
  }
  return {
    get server() {
      return started(server)
    },
    get store() {
      return started(current).store
    },
  }
}
