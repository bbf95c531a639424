import type { PointStore } from '../src/events/store'
import { delegating } from '../src/stores/delegating'

export interface CountingStore {
  readonly store: PointStore
  /** Events per `append`: how many accepted commands one batch carried on average. */
  readonly meanBatch: () => number
}

/** Passes every call through and counts the batches appended, for the mean batch size. */
export function countingStore(inner: PointStore): CountingStore {
  let appends = 0
  let events = 0
  const store = delegating(inner, {
    append: (userId, expectedVersion, plan) => {
      appends += 1
      events += plan.events.length
      return inner.append(userId, expectedVersion, plan)
    },
  })
  return { store, meanBatch: () => (appends === 0 ? 0 : events / appends) }
}
