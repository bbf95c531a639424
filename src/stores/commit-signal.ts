import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import type { PointState } from '../events/decider'
import type { UserId } from '../events/model'
import type { Plan, PointStore, StoreFault } from '../events/store'
import { delegating } from './delegating'

/**
 * The same store, calling `committed` after each append that succeeded: the change feed's cue to read at once.
 * A plain async step, not `TE.tap`: every append passes here, and fp-ts's Task combinators put a microtask turn
 * before each step and a closure around each (docs/performance.md, "The commit signal, and a duplicate-name check
 * on JSON bodies").
 */
export const signalCommits = (store: PointStore, committed: () => void): PointStore => {
  const locked = store.appendLocked?.bind(store)
  const signalled =
    <A>(task: TE.TaskEither<StoreFault, A>): TE.TaskEither<StoreFault, A> =>
    async () => {
      const result = await task()
      if (E.isRight(result)) committed()
      return result
    }
  return delegating(store, {
    append: (userId, expectedVersion, plan) => signalled(store.append(userId, expectedVersion, plan)),
    ...(locked === undefined ? {} : { appendLocked: <P extends Plan>(userId: UserId, plan: (state: PointState) => P) => signalled(locked(userId, plan)) }),
  })
}
