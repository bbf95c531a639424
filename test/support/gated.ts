import type { PointStore } from '../../src/events/store'
import { delegating } from '../../src/stores/delegating'

export interface GatedStore {
  readonly store: PointStore
  /** Resolves when the first append has reached the store and is being held. */
  readonly holding: Promise<void>
  /** Lets held appends through. */
  readonly release: () => void
  /** What happened to the store, in order: `append` when one completes, `close`. */
  readonly calls: string[]
}

/** A store whose appends wait at a gate until the test releases them. */
export function gatedStore(inner: PointStore): GatedStore {
  const calls: string[] = []
  let open!: () => void
  const gate = new Promise<void>((resolve) => (open = resolve))
  let held!: () => void
  const holding = new Promise<void>((resolve) => (held = resolve))
  const store = delegating(inner, {
    append: (userId, expectedVersion, plan) => async () => {
      held()
      await gate
      const result = await inner.append(userId, expectedVersion, plan)()
      calls.push('append')
      return result
    },
    close: async () => {
      calls.push('close')
      await inner.close()
    },
  })
  return { store, holding, release: () => open(), calls }
}
