import { createServer, type Server } from 'node:http'
import type Koa from 'koa'
import type { Logger } from 'pino'
import type { Config } from './config'
import type { PointStore, StoreFailure, StoreFault } from './events/store'
import { createApp, defaultStreamSettings, type FeedStreaming } from './http/app'
import { answerClientError } from './http/client-error'
import { Lifecycle } from './http/lifecycle'
import { Metrics } from './http/metrics'
import { OpenStreams } from './http/open-streams'
import { HoldSweeper } from './events/hold-sweeper'
import { openStore } from './open-store'
import { createFeedReads } from './projections/feed-reads'
import { FeedTail } from './projections/feed-tail'
import { createLedger, type Ledger } from './projections/ledger'
import { shutDown } from './shutdown'
import { signalCommits } from './stores/commit-signal'
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

/**
 * Wires a store (the configured one unless given, opened and ready), the ledger and the HTTP app, and starts listening.
 * `clock` is what commands, reads and the hold sweeper take the time from; tests step it past expiries.
 */
export async function startService(config: Config, logger: Logger, given?: PointStore, clock: () => number = Date.now): Promise<Service> {
  const rawStore = given ?? (await openStore(config.store, { receiptRetentionMillis: config.idempotencyRetentionMs }))
  const lifecycle = new Lifecycle()
  const metrics = new Metrics()
  const store = timedStore(withPruning(rawStore, logger), metrics.observeStore)
  const shared = config.store.kind === 'postgres' ? sharedStoreRetries : {}
  const feed = feedStreaming(store, config, logger)
  // A commit here is read into the feed at once; commits of other instances at the next poll.
  const ledger = createLedger({ store: signalCommits(store, () => feed.tail.wake()), limits: config.limits, onBatch: metrics.onBatch, clock, stateCacheSize: config.stateCacheSize, ...shared })
  metrics.watchQueue(ledger.commands)
  metrics.watchStreams(feed.open)
  const sweeper = new HoldSweeper(store, ledger.expire, {
    intervalMillis: config.holdSweepIntervalMs,
    clock,
    onFault: (fault) => logger.warn({ err: 'cause' in fault ? fault.cause : fault }, 'recording a hold expiry failed; the next pass retries'),
  })
  sweeper.start()
  const { limits, apiKeys, publicUrl } = config
  const app = createApp({ ledger, logger, operations: { lifecycle, metrics, store, limits, apiKeys, publicUrl }, feed })
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

  // The sweeper stops before the store closes, after the requests accepted before shutdown are answered.
  const closing = delegating(store, {
    close: async () => {
      await sweeper.stop()
      await store.close()
    },
  })
  const stop = () => shutDown({ server, lifecycle, store: closing, timeoutMs: config.shutdownTimeoutMs })
  return { server, app, ledger, lifecycle, stop }
}

/** The change feed's shared tail over `store`, and its streams' settings from `FEED_*`. */
function feedStreaming(store: PointStore, { feed }: Config, logger: Logger): FeedStreaming & { readonly open: OpenStreams } {
  const onFault = (failure: StoreFailure) =>
    logger.warn({ err: failure._tag === 'StoreUnavailable' ? failure.cause : failure }, 'reading the change feed failed; the next poll retries')
  return {
    tail: new FeedTail(createFeedReads(store).feedPage, { pollMillis: feed.pollMs, pageLimit: defaultStreamSettings.pageLimit, onFault }),
    settings: { ...defaultStreamSettings, heartbeatMillis: feed.heartbeatMs, bufferBytes: feed.streamBufferBytes, maxStreams: feed.maxStreams },
    open: new OpenStreams(),
  }
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
