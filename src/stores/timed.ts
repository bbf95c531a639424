import * as E from 'fp-ts/Either'
import type { PointStore, StoreObserver } from '../events/store'
import { wrapping } from './delegating'

/** The same store, with every call timed. */
export const timedStore = (store: PointStore, observe: StoreObserver): PointStore =>
  wrapping(store, (call, task) => async () => {
    const started = performance.now()
    const result = await task()
    observe(call, E.isRight(result) ? 'ok' : 'fault', (performance.now() - started) / 1000)
    return result
  })
