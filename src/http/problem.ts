import type { Context } from 'koa'
import type { CommandFailure } from '../events/commands'

/** Every error the API answers with, its status and its fixed title. */
export const problemCatalog = {
  INVALID_REQUEST: { status: 400, title: 'The request is malformed' },
  AMOUNT_LIMIT_EXCEEDED: { status: 400, title: 'The amount is over the per-transaction limit' },
  UNAUTHORIZED: { status: 401, title: 'A valid API key is required' },
  FORBIDDEN: { status: 403, title: 'The API key does not allow this' },
  NOT_FOUND: { status: 404, title: 'No such resource' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'The route does not allow this method' },
  INSUFFICIENT_BALANCE: { status: 409, title: 'The available balance is too low for this use or hold' },
  BALANCE_LIMIT_EXCEEDED: { status: 409, title: 'The charge would take the balance over its maximum' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'The Idempotency-Key was already used for a different command' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request did not arrive in time' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  INTERNAL_ERROR: { status: 500, title: 'The service failed unexpectedly' },
  NOT_IMPLEMENTED: { status: 501, title: 'The method is not supported' },
  STORE_UNAVAILABLE: { status: 503, title: 'The store is unavailable; retry later' },
  NOT_READY: { status: 503, title: 'The service is not ready for traffic' },
  SHUTTING_DOWN: { status: 503, title: 'The service is shutting down; retry elsewhere' },
  TOO_MANY_STREAMS: { status: 503, title: 'The service has as many feed streams open as it allows; retry later' },
  STORE_CORRUPT: { status: 500, title: 'A stored row is corrupt; retrying will not help' },
  USE_NOT_FOUND: { status: 404, title: 'The user has no use with this id' },
  REFUND_EXCEEDS_USE: { status: 409, title: 'The refunds of this use would add up to more than it' },
  HOLD_TTL_EXCEEDED: { status: 400, title: 'The ttl is over the maximum a hold may last' },
  TOO_MANY_HOLDS: { status: 409, title: 'The user has the most active holds allowed' },
  HOLD_NOT_FOUND: { status: 404, title: 'The user has no hold with this id' },
  HOLD_ALREADY_RESOLVED: { status: 409, title: 'The hold was already captured, released or expired' },
  CAPTURE_EXCEEDS_HOLD: { status: 409, title: 'The capture is more than the hold' },
} as const

export type ProblemCode = keyof typeof problemCatalog

/** An RFC 9457 problem document with a stable machine-readable `code`. */
export interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly code: ProblemCode
}

export const problem = (code: ProblemCode, detail: string): Problem => ({
  type: `urn:point-ledger:problem:${code.toLowerCase().replace(/_/g, '-')}`,
  title: problemCatalog[code].title,
  status: problemCatalog[code].status,
  detail,
  code,
})

export const sendProblem = (ctx: Context, p: Problem): void => {
  ctx.status = p.status
  ctx.body = p
  ctx.type = 'application/problem+json'
}

/** Thrown only by middleware that cannot return a value, such as the body parser. */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail)
  }
}

export const fromFailure = (failure: CommandFailure): Problem => {
  switch (failure._tag) {
    case 'Rejection':
      return problem(failure.code, failure.detail)
    case 'StoreUnavailable':
      // A commit whose acknowledgement was lost (a dropped PostgreSQL connection) did apply: only a keyed retry is exact.
      return problem('STORE_UNAVAILABLE', 'the store did not answer; retry with the same Idempotency-Key to apply the command at most once')
    case 'StoreCorrupt':
      // The log names the row; the answer does not show the store's insides.
      return problem('STORE_CORRUPT', 'a row this request needs is corrupt in the store; nothing was applied, and the operator must repair it')
    case 'Defect':
      return problem('INTERNAL_ERROR', 'the service failed unexpectedly')
  }
}
