import { createServer, type Server } from 'node:http'
import type Koa from 'koa'
import type { Logger } from 'pino'
import type { Config } from './config'
import type { PointStore, StoreFault } from './events/store'
import { createApp } from './http/app'
import { answerClientError } from './http/client-error'
import { Lifecycle } from './http/lifecycle'
import { Metrics } from './http/metrics'
import { openStore } from './open-store'
import { createLedger, type Ledger } from './projections/ledger'
import { shutDown } from './shutdown'
import { sharedStoreRetries } from './stores/conflict-backoff'
import { delegating } from './stores/delegating'
import { prunesReceipts, ReceiptPruner } from './stores/receipt-retention'
import { timedStore } from './stores/timed'

export interface Service {
  readonly server: Server
  readonly app: Koa
  readonly ledger: Ledger
  readonly lifecycle: Lifecycle
  /** Stops taking connections, lets accepted commands finish, then closes the store. */
  stop(): Promise<void>
}

/** Wires a store (the configured one unless given, opened and ready), the ledger and the HTTP app, and starts listening. */
export async function startService(config: Config, logger: Logger, given?: PointStore): Promise<Service> {
  const rawStore = given ?? (await openStore(config.store, { receiptRetentionMillis: config.idempotencyRetentionMs }))
  const lifecycle = new Lifecycle()
  const metrics = new Metrics()
  const store = timedStore(withPruning(rawStore, logger), metrics.observeStore)
  const shared = config.store.kind === 'postgres' ? sharedStoreRetries : {}
  const ledger = createLedger({ store, limits: config.limits, onBatch: metrics.onBatch, stateCacheSize: config.stateCacheSize, ...shared })
  metrics.watchQueue(ledger.commands)
  const { limits, apiKeys, publicUrl } = config
  const app = createApp({ ledger, logger, operations: { lifecycle, metrics, store, limits, apiKeys, publicUrl } })
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

/** Prunes expired receipts in the background while the store is open, if it keeps them in a file or database. */
function withPruning(store: PointStore, logger: Logger): PointStore {
  if (!prunesReceipts(store)) return store
  const onFault = (fault: StoreFault) => logger.warn({ err: fault._tag === 'StoreUnavailable' ? fault.cause : fault }, 'pruning idempotency receipts failed; the next pass retries')
  const pruner = new ReceiptPruner(store, { onFault })
  pruner.start()
  return delegating(store, {
    close: async () => {
      await pruner.stop()
      await store.close()
    },
  })
}
