import type Router from '@koa/router'
import * as TE from 'fp-ts/TaskEither'
import type Koa from 'koa'
import type { AddressInfo } from 'node:net'
import pino, { type Logger } from 'pino'
import type { ApiKey } from '../../src/api-keys'
import { storeUnavailable, type PointStore } from '../../src/events/store'
import { createApp } from '../../src/http/app'
import { Lifecycle } from '../../src/http/lifecycle'
import { Metrics } from '../../src/http/metrics'
import { createLedger } from '../../src/projections/ledger'
import { timedStore } from '../../src/stores/timed'
import { fastMemoryStore } from './tables'

export const limits = { maxAmount: 1_000_000, maxBalance: 10_000_000 }

/** A store that is down: every call faults. */
export const downStore = (): PointStore => {
  const down = () => TE.left(storeUnavailable(new Error('connection refused')))
  return { load: down, append: down, receipts: down, references: down, holds: down, expiredHolds: down, balance: down, history: down, close: () => Promise.resolve() }
}

export interface OpsApp {
  readonly app: Koa
  readonly lifecycle: Lifecycle
  readonly metrics: Metrics
}

/** The full app with a lifecycle the test controls; ready unless told it is still starting. */
export function opsApp(
  options: { store?: PointStore; apiKeys?: readonly ApiKey[]; logger?: Logger; starting?: boolean } = {},
): OpsApp {
  const lifecycle = new Lifecycle()
  if (options.starting !== true) lifecycle.ready()
  const metrics = new Metrics()
  // Wired as src/service.ts wires it.
  const store = timedStore(options.store ?? fastMemoryStore(), metrics.observeStore)
  const ledger = createLedger({ store, limits, onBatch: metrics.onBatch })
  metrics.watchQueue(ledger.commands)
  const logger = options.logger ?? pino({ level: 'silent' })
  const app = createApp({ ledger, logger, operations: { lifecycle, metrics, store, limits, apiKeys: options.apiKeys } })
  return { app, lifecycle, metrics }
}

export interface Listening {
  readonly url: string
  readonly close: () => Promise<void>
}

/** Serves an app on a loopback port. */
export async function listen<S, C>(app: Koa<S, C>): Promise<Listening> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Every router the app mounts, found through the middleware @koa/router tags with its router. */
export const routersOf = (app: Koa): Router[] =>
  app.middleware.flatMap((middleware) => {
    const router = (middleware as { router?: Router }).router
    return router === undefined ? [] : [router]
  })
