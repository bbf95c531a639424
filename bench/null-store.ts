import * as TE from 'fp-ts/TaskEither'
import type { UserPoint as UserPointRow } from '../database'
import { initialState, type PointState } from '../src/events/decider'
import type { StoredEvent, UserId, UserPoint } from '../src/events/model'
import type { Plan, PointStore, StoreFault } from '../src/events/store'
import { EmptyReads } from './empty-reads'
import type { NaiveTables } from './naive-queue'

/** Waits a short real timer, so calls still overlap, and keeps nothing. */
const shortly = <A>(value: () => A): Promise<A> =>
  new Promise((resolve) => setTimeout(() => resolve(value()), 1))

/**
 * A store that remembers nothing: every user starts at zero and every append
 * is forgotten. What the service holds on to is then the service's own memory,
 * not data, which is what the memory benchmark wants to see.
 */
export class NullStore extends EmptyReads implements PointStore {
  /** `atOnce`: loads and appends answer without the timer, for benchmarks that only count what is kept. */
  constructor(private readonly atOnce = false) {
    super()
  }

  load(): TE.TaskEither<StoreFault, PointState> {
    return this.atOnce ? TE.right(initialState) : TE.fromTask(() => shortly(() => initialState))
  }

  append(userId: UserId, _expectedVersion: number, { projection }: Plan): TE.TaskEither<StoreFault, UserPoint> {
    const point = () => ({ id: userId, point: projection.balance, updateMillis: Date.now() })
    return this.atOnce ? TE.right(point()) : TE.fromTask(() => shortly(point))
  }

  balance(userId: UserId): TE.TaskEither<StoreFault, UserPoint> {
    return TE.fromTask(() => shortly(() => ({ id: userId, point: 0, updateMillis: Date.now() })))
  }

  history(): TE.TaskEither<StoreFault, StoredEvent[]> {
    return TE.fromTask(() => shortly(() => []))
  }
}

/** The same for the naive queue, which talks to the tables directly. */
export const nullTables: NaiveTables = {
  points: {
    selectById: (id) => shortly((): UserPointRow => ({ id, point: 0, updateMillis: Date.now() })),
    insertOrUpdate: (id, point) => shortly((): UserPointRow => ({ id, point, updateMillis: Date.now() })),
  },
  histories: {
    insert: (userId, amount, type, timeMillis) => shortly(() => ({ id: 0, userId, amount, type, timeMillis })),
  },
}
