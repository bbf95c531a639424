import type { Scope } from '../api-keys'

/**
 * The scope each guarded operation needs, by its operationId. Routes register their guard from this table and the
 * API document writes each operation's `security` from it, so an operation cannot be guarded one way and documented
 * another. An operation not listed here is open.
 */
export const operationScopes = {
  balance: 'read',
  history: 'read',
  charge: 'charge',
  use: 'use',
  refund: 'refund',
  hold: 'hold',
  holds: 'read',
  capture: 'hold',
  release: 'hold',
  metrics: 'metrics',
  feed: 'feed',
  feedStream: 'feed',
} as const satisfies Record<string, Scope>

export type GuardedOperation = keyof typeof operationScopes
