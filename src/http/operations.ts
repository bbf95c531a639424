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
import { securityHeaders, type SecurityHeaders } from './security-headers'

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

/**
 * helmet's headers for the one HTML document, the docs page and its files: helmet's defaults, except that
 * sub-resources are not forced to https, since the service speaks plain HTTP behind whatever terminates TLS.
 */
export const documentHeaders: SecurityHeaders = { helmet: { contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } } }

/**
 * The headers for every other answer, all JSON, as OWASP's REST Security Cheat Sheet lists them for an API: a
 * policy under which a body loads and frames nothing, no framing, no sniffing, HSTS, and no caching of balances
 * and histories anywhere (`Cache-Control: no-store`); with helmet's `Referrer-Policy` and same-origin
 * `Cross-Origin-Resource-Policy` kept. helmet's headers that govern only an HTML document (its opener, agent
 * cluster, DNS prefetching, IE's downloads, Flash's policy files, the old XSS filter) are left out: each is a
 * `setHeader` on every answer, and a JSON body gives them nothing to protect.
 */
export const apiHeaders: SecurityHeaders = {
  helmet: {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    xFrameOptions: { action: 'deny' },
  },
  more: { 'Cache-Control': 'no-store' },
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
    routers: [healthRoutes({ lifecycle, store }), metrics.routes(requireScope(operationScopes.metrics)), docsRoutes(document, publicUrl, securityHeaders(documentHeaders))],
    guard: (operation) => [lifecycle.refuseWhileDraining, requireScope(operationScopes[operation])],
  }
}
