import type Router from '@koa/router'
import * as E from 'fp-ts/Either'
import type { Context } from 'koa'
import type { UserId } from '../events/model'
import type { PointStore } from '../events/store'
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

/** True when the store answers a read in time. */
const storeAnswers = async (store: PointStore, timeoutMs: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs)
  })
  const answered = store
    .balance(probeUser)()
    .then(E.isRight, () => false)
  try {
    return await Promise.race([answered, late])
  } finally {
    clearTimeout(timer)
  }
}

/** `/healthz`: the process runs. `/readyz`: it is ready for traffic and its store answers. */
export function healthRoutes({ lifecycle, store, probeTimeoutMs = 2_000 }: HealthOptions): Router {
  const readyz = async (ctx: Context): Promise<void> => {
    if (lifecycle.phase !== 'ready') return sendProblem(ctx, problem('NOT_READY', `the service is ${lifecycle.phase}`))
    if (!(await storeAnswers(store, probeTimeoutMs))) {
      return sendProblem(ctx, problem('STORE_UNAVAILABLE', 'the store did not answer the readiness probe'))
    }
    ctx.body = { status: 'ready' }
  }

  return strictRouter()
    .get('/healthz', (ctx) => {
      ctx.body = { status: 'ok' }
    })
    .get('/readyz', readyz)
}
