import * as TE from 'fp-ts/TaskEither'
import type { PointState, References } from '../../src/events/decider'
import type { IdempotencyKey, PointEvent, StoredEvent, UserId, UserPoint } from '../../src/events/model'
import { storeUnavailable, type HistoryQuery, type Named, type Plan, type PointStore, type Receipt, type StoredHold, type StoreFault } from '../../src/events/store'
import { delegating } from '../../src/stores/delegating'

/** One `append` call as the spy saw it. */
export interface AppendCall {
  readonly userId: UserId
  readonly events: readonly PointEvent[]
  readonly expectedVersion: number
}

/**
 * A decorator over any store that records what the writer asks of it: each
 * append, each load, and whether two calls that write for one user were ever
 * in flight at once. It can also be told to fail the next appends.
 */
export class SpyStore implements PointStore {
  /** Every append asked for, including injected failures, in call order. */
  readonly appends: AppendCall[] = []
  readonly loads: UserId[] = []
  /** Users for whom a load or append started while another was still running. */
  readonly overlaps: UserId[] = []
  private readonly inFlight = new Map<UserId, number>()
  private failingAppends = 0

  constructor(private readonly inner: PointStore) {}

  /** The next `count` appends fail with StoreUnavailable and write nothing. */
  failNextAppends(count = 1): void {
    this.failingAppends = count
  }

  load(userId: UserId): TE.TaskEither<StoreFault, PointState> {
    this.loads.push(userId)
    return this.watch(userId, this.inner.load(userId))
  }

  append(userId: UserId, expectedVersion: number, plan: Plan): TE.TaskEither<StoreFault, UserPoint> {
    this.appends.push({ userId, events: [...plan.events], expectedVersion })
    if (this.failingAppends > 0) {
      this.failingAppends -= 1
      return TE.left(storeUnavailable(new Error('injected append failure')))
    }
    return this.watch(userId, this.inner.append(userId, expectedVersion, plan))
  }

  receipts(userId: UserId, keys: readonly IdempotencyKey[]): TE.TaskEither<StoreFault, Receipt[]> {
    return this.inner.receipts(userId, keys)
  }

  references(userId: UserId, named: Named): TE.TaskEither<StoreFault, References> {
    return this.inner.references(userId, named)
  }

  holds(userId: UserId, at?: number): TE.TaskEither<StoreFault, StoredHold[]> {
    return this.inner.holds(userId, at)
  }

  expiredHolds(now: number, limit: number): TE.TaskEither<StoreFault, ReadonlyArray<{ readonly userId: UserId; readonly holdId: number }>> {
    return this.inner.expiredHolds(now, limit)
  }

  balance(userId: UserId): TE.TaskEither<StoreFault, UserPoint> {
    return this.inner.balance(userId)
  }

  history(userId: UserId, query?: HistoryQuery): TE.TaskEither<StoreFault, StoredEvent[]> {
    return this.inner.history(userId, query)
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  /** Counts the call as in flight for its user from start to finish. */
  private watch<E, A>(userId: UserId, task: TE.TaskEither<E, A>): TE.TaskEither<E, A> {
    return async () => {
      const running = this.inFlight.get(userId) ?? 0
      if (running > 0) this.overlaps.push(userId)
      this.inFlight.set(userId, running + 1)
      try {
        return await task()
      } finally {
        const left = (this.inFlight.get(userId) ?? 1) - 1
        if (left === 0) this.inFlight.delete(userId)
        else this.inFlight.set(userId, left)
      }
    }
  }
}

/** A store that answers like `inner` except for the calls given, for injecting slow or broken behaviour. */
export const overriding = delegating
