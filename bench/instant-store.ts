import * as TE from 'fp-ts/TaskEither'
import { initialState, type PointState } from '../src/events/decider'
import type { StoredEvent, UserId, UserPoint } from '../src/events/model'
import { versionConflict, type Plan, type PointStore, type StoreFault } from '../src/events/store'
import { EmptyReads } from './empty-reads'

/**
 * A store that does no I/O and keeps only balances, for the benchmark: the
 * service on it shows what the HTTP stack and the writer cost without storage.
 * It drops the events, so its history is always empty.
 */
export class InstantStore extends EmptyReads implements PointStore {
  private readonly states = new Map<UserId, PointState & { updateMillis: number }>()

  load(userId: UserId): TE.TaskEither<StoreFault, PointState> {
    return TE.right(this.states.get(userId) ?? initialState)
  }

  append(userId: UserId, expectedVersion: number, { projection }: Plan): TE.TaskEither<StoreFault, UserPoint> {
    if ((this.states.get(userId)?.version ?? 0) !== expectedVersion) return TE.left(versionConflict(userId, expectedVersion))
    const updateMillis = Date.now()
    this.states.set(userId, { ...projection, updateMillis })
    return TE.right({ id: userId, point: projection.balance, updateMillis })
  }

  balance(userId: UserId): TE.TaskEither<StoreFault, UserPoint> {
    const state = this.states.get(userId)
    return TE.right({ id: userId, point: state?.balance ?? 0, updateMillis: state?.updateMillis ?? Date.now() })
  }

  history(_userId: UserId): TE.TaskEither<StoreFault, StoredEvent[]> {
    return TE.right([])
  }
}
