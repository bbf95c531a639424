import type Router from '@koa/router'
import helmet from 'koa-helmet'
import type { Middleware } from 'koa'
import type { Logger } from 'pino'
import type { ApiKey } from '../apiKeys'
import type { Limits } from '../events/decider'
import type { PointStore } from '../events/store'
import { requireApiKey } from './auth'
import { docsRoutes } from './docs'
import { healthRoutes } from './health'
import type { Lifecycle } from './lifecycle'
import { requestLog } from './logging'
import type { Metrics } from './metrics'
import { openApiDocument } from './openapi'

/** What running the service in production adds around the API. */
export interface Operations {
  readonly lifecycle: Lifecycle
  readonly metrics: Metrics
  /** Probed by `/readyz`. */
  readonly store: PointStore
  readonly limits: Limits
  /** Undefined: the API is open. */
  readonly apiKeys: readonly ApiKey[] | undefined
}

// The service speaks plain HTTP behind whatever terminates TLS, so sub-resources must not be forced to https.
const securityHeaders = () => helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } })

/** Middleware and routes in the order the app mounts them: outside the problem handler, inside it, and routes. */
export interface Layers {
  readonly outer: Middleware[]
  readonly inner: Middleware[]
  readonly routers: Router[]
}

export function operationLayers(logger: Logger, operations: Operations | undefined): Layers {
  if (operations === undefined) return { outer: [], inner: [], routers: [] }
  const { lifecycle, metrics, store, limits, apiKeys } = operations
  const document = openApiDocument({ limits, secured: apiKeys !== undefined })
  return {
    outer: [requestLog(logger), metrics.middleware, securityHeaders()],
    inner: [lifecycle.middleware, ...(apiKeys === undefined ? [] : [requireApiKey(apiKeys)])],
    routers: [healthRoutes({ lifecycle, store }), metrics.routes(), docsRoutes(document)],
  }
}
