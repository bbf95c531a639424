import * as TE from 'fp-ts/TaskEither'
import { initialState, type PointState } from '../src/events/decider'
import type { PointEvent, StoredEvent, UserId, UserPoint } from '../src/events/model'
import { versionConflict, type PointStore, type StoreFault } from '../src/events/store'

/**
 * A store that does no I/O at all, for the benchmark only: the service on it
 * measures what the HTTP stack and the writer cost without any storage.
 */
export class InstantStore implements PointStore {
  private readonly states = new Map<UserId, PointState & { updateMillis: number }>()
  private readonly logs = new Map<UserId, StoredEvent[]>()
  private nextId = 1

  load(userId: UserId): TE.TaskEither<StoreFault, PointState> {
    return TE.right(this.states.get(userId) ?? initialState)
  }

  append(userId: UserId, events: readonly PointEvent[], expectedVersion: number, projection: PointState): TE.TaskEither<StoreFault, UserPoint> {
    if ((this.states.get(userId)?.version ?? 0) !== expectedVersion) return TE.left(versionConflict(userId, expectedVersion))
    const updateMillis = Date.now()
    const log = this.logs.get(userId) ?? []
    for (const event of events) log.push({ ...event, id: this.nextId++ })
    this.logs.set(userId, log)
    this.states.set(userId, { ...projection, updateMillis })
    return TE.right({ id: userId, point: projection.balance, updateMillis })
  }

  balance(userId: UserId): TE.TaskEither<StoreFault, UserPoint> {
    const state = this.states.get(userId)
    return TE.right({ id: userId, point: state?.balance ?? 0, updateMillis: state?.updateMillis ?? Date.now() })
  }

  history(userId: UserId): TE.TaskEither<StoreFault, StoredEvent[]> {
    return TE.right(this.logs.get(userId) ?? [])
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}
