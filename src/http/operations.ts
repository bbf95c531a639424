import type Router from '@koa/router'
import type { Middleware } from 'koa'
import type { Logger } from 'pino'
import type { ApiKey } from '../api-keys'
import type { Limits } from '../events/decider'
import type { PointStore } from '../events/store'
import { openAccess, requireApiKey } from './auth'
import { docsRoutes } from './docs'
import { healthRoutes } from './health'
import type { Lifecycle } from './lifecycle'
import { requestLog } from './logging'
import type { Metrics } from './metrics'
import { openApiDocument } from './openapi'
import { operationScopes, type GuardedOperation } from './scopes'
import { apiHeaders, securityHeaders } from './security-headers'

/** What running the service in production adds around the API. */
export interface Operations {
  readonly lifecycle: Lifecycle
  readonly metrics: Metrics
  /** Probed by `/readyz`. */
  readonly store: PointStore
  readonly limits: Limits
  /** Undefined: the API is open. */
  readonly apiKeys: readonly ApiKey[] | undefined
  /** The API document's server; undefined: the address each request arrived at. */
  readonly publicUrl?: string | undefined
}

/** What an API route registers ahead of its handler, for the operation it serves. */
export type RouteGuard = (operation: GuardedOperation) => Middleware[]

/**
 * Middleware and routes in the order the app mounts them: outside the problem handler, inside it, and routes;
 * and the guard each API route registers, so the route that serves a request decides who may call it.
 */
export interface Layers {
  readonly outer: Middleware[]
  readonly inner: Middleware[]
  readonly routers: Router[]
  readonly guard: RouteGuard
}

export function operationLayers(logger: Logger, operations: Operations | undefined): Layers {
  if (operations === undefined) return { outer: [], inner: [], routers: [], guard: () => [] }
  const { lifecycle, metrics, store, limits, apiKeys, publicUrl } = operations
  const document = (serverUrl: string) => openApiDocument({ limits, secured: apiKeys !== undefined, serverUrl })
  const requireScope = apiKeys === undefined ? openAccess : requireApiKey(apiKeys)
  return {
    outer: [requestLog(logger), metrics.middleware, securityHeaders(apiHeaders)],
    inner: [lifecycle.middleware],
    routers: [healthRoutes({ lifecycle, store }), metrics.routes(requireScope(operationScopes.metrics)), docsRoutes(document, publicUrl)],
    guard: (operation) => [lifecycle.refuseWhileDraining, requireScope(operationScopes[operation])],
  }
}
