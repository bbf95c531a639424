import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { dirname } from 'node:path'
import type Koa from 'koa'
import type { Logger } from 'pino'
import type { Config } from './config'
import { createLedger, type Ledger } from './events/ledger'
import type { PointStore } from './events/store'
import { createApp } from './http/app'
import { answerClientError } from './http/client-error'
import { Lifecycle } from './http/lifecycle'
import { Metrics } from './http/metrics'
import { shutDown } from './shutdown'
import { sharedStoreRetries } from './stores/conflict-backoff'
import { MemoryStore } from './stores/memory'
import { PostgresStore } from './stores/postgres'
import { openSqliteStore } from './stores/sqlite'
import { timedStore } from './stores/timed'

export function openStore(config: Config): PointStore {
  switch (config.store) {
    case 'memory':
      return new MemoryStore()
    case 'sqlite':
      mkdirSync(dirname(config.sqlitePath), { recursive: true })
      return openSqliteStore(config.sqlitePath)
    case 'postgres':
      if (config.postgres === undefined) throw new Error('POINT_STORE=postgres needs DATABASE_URL')
      // Migrations run on first use; startService waits for them before listening.
      return new PostgresStore(config.postgres.url, {
        poolSize: config.postgres.poolSize,
        statementTimeoutMillis: config.postgres.statementTimeoutMs,
      })
  }
}

export interface Service {
  readonly server: Server
  readonly app: Koa
  readonly ledger: Ledger
  readonly lifecycle: Lifecycle
  /** Stops taking connections, lets accepted commands finish, then closes the store. */
  stop(): Promise<void>
}

/** Wires a store, the ledger and the HTTP app, and starts listening. */
export async function startService(config: Config, logger: Logger, rawStore = openStore(config)): Promise<Service> {
  if (rawStore instanceof PostgresStore) await schemaReady(rawStore)
  const lifecycle = new Lifecycle()
  const metrics = new Metrics()
  const store = timedStore(rawStore, metrics.observeStore)
  const shared = config.store === 'postgres' ? sharedStoreRetries : {}
  const ledger = createLedger({ store, limits: config.limits, onBatch: metrics.onBatch, ...shared })
  metrics.watchQueue(ledger.commands)
  const { limits, apiKeys } = config
  const app = createApp({ ledger, logger, operations: { lifecycle, metrics, store, limits, apiKeys } })
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = config.http
  const handle = app.callback()
  const server = createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      // Node looks for late requests this often (30 s by default), so the timeouts hold to within a second.
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(headersTimeoutMs / 4)),
    },
    (request, response) => void handle(request, response),
  )
  server.on('clientError', answerClientError(logger))
  server.listen(config.port, config.host)
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve).once('error', reject)
  })
  if (apiKeys === undefined) logger.warn('POINT_API_KEYS is not set: every /point route is open to anyone who can reach it')
  lifecycle.ready()

  const stop = () => shutDown({ server, lifecycle, store, timeoutMs: config.shutdownTimeoutMs })
  return { server, app, ledger, lifecycle, stop }
}

/** Applies pending migrations before the service takes requests; an unreachable database stops the start. */
async function schemaReady(store: PostgresStore): Promise<void> {
  const ready = await store.ready()
  if (ready._tag === 'Left') {
    await store.close()
    throw new Error(`PostgreSQL is not reachable or its schema could not be applied: ${String((ready.left as { cause?: unknown }).cause)}`)
  }
}
