import * as TE from 'fp-ts/TaskEither'
import type { PointState } from '../events/decider'
import type { UserId } from '../events/model'
import type { Plan, PointStore } from '../events/store'
import { delegating } from './delegating'

/** The same store, calling `committed` after each append that succeeded: the change feed's cue to read at once. */
export const signalCommits = (store: PointStore, committed: () => void): PointStore => {
  const locked = store.appendLocked?.bind(store)
  return delegating(store, {
    append: (userId, expectedVersion, plan) => TE.tap(store.append(userId, expectedVersion, plan), () => TE.fromIO(committed)),
    ...(locked === undefined
      ? {}
      : { appendLocked: <P extends Plan>(userId: UserId, plan: (state: PointState) => P) => TE.tap(locked(userId, plan), () => TE.fromIO(committed)) }),
  })
}
