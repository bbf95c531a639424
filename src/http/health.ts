import type Router from '@koa/router'
import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import type { Context } from 'koa'
import type { UserId } from '../events/model'
import { asFailure, type PointStore, type StoreFault } from '../events/store'
import { loggedCause, loggedFailure, noteFailure, type LoggedError } from './failure-log'
import type { Lifecycle } from './lifecycle'
import { problem, sendProblem } from './problem'
import { strictRouter } from './router'

export interface HealthOptions {
  readonly lifecycle: Lifecycle
  readonly store: PointStore
  /** How long the store may take to answer a readiness probe. */
  readonly probeTimeoutMs?: number
}

// Any valid id will do: reading a balance touches the store and changes nothing.
const probeUser = 1 as UserId

/**
 * Undefined when the store answers in time and can take writes; else why not. A store that can say whether it
 * takes writes (a failed commit, a replaced file) is asked that; any other is asked for a balance.
 */
const storeProblem = async (store: PointStore, timeoutMs: number): Promise<LoggedError | undefined> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<LoggedError>((resolve) => {
    timer = setTimeout(() => resolve({ message: `the store did not answer within ${timeoutMs} ms` }), timeoutMs)
  })
  const probe: TE.TaskEither<StoreFault, unknown> = store.readiness?.() ?? store.balance(probeUser)
  const answered = probe().then(
    (result) => (E.isRight(result) ? undefined : loggedFailure(asFailure(result.left))),
    (error: unknown) => loggedCause(error),
  )
  try {
    return await Promise.race([answered, late])
  } finally {
    clearTimeout(timer)
  }
}

/** `/healthz`: the process runs. `/readyz`: it is ready for traffic, and its store answers and takes writes. */
export function healthRoutes({ lifecycle, store, probeTimeoutMs = 2_000 }: HealthOptions): Router {
  const readyz = async (ctx: Context): Promise<void> => {
    if (lifecycle.phase !== 'ready') return sendProblem(ctx, problem('NOT_READY', `the service is ${lifecycle.phase}`))
    const failed = await storeProblem(store, probeTimeoutMs)
    if (failed !== undefined) {
      noteFailure(ctx, failed)
      return sendProblem(ctx, problem('STORE_UNAVAILABLE', 'the store did not pass the readiness probe'))
    }
    ctx.body = { status: 'ready' }
  }

  return strictRouter()
    .get('/healthz', (ctx) => {
      ctx.body = { status: 'ok' }
    })
    .get('/readyz', readyz)
}
