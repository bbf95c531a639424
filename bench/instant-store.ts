import * as TE from 'fp-ts/TaskEither'
import { initialState, noReferences, type PointState, type References } from '../src/events/decider'
import type { StoredEvent, UserId, UserPoint } from '../src/events/model'
import { versionConflict, type Plan, type PointStore, type Receipt, type StoredHold, type StoreFault } from '../src/events/store'

/**
 * A store that does no I/O and keeps only balances, for the benchmark: the
 * service on it shows what the HTTP stack and the writer cost without storage.
 * It drops the events, so its history is always empty.
 */
export class InstantStore implements PointStore {
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

  /** Commands in benchmarks carry no idempotency keys. */
  receipts(): TE.TaskEither<StoreFault, Receipt[]> {
    return TE.right([])
  }

  /** Benchmarks place no holds and refund nothing. */
  references(): TE.TaskEither<StoreFault, References> {
    return TE.right(noReferences)
  }

  holds(): TE.TaskEither<StoreFault, StoredHold[]> {
    return TE.right([])
  }

  expiredHolds(): TE.TaskEither<StoreFault, never[]> {
    return TE.right([])
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}
