import type * as TE from 'fp-ts/TaskEither'
import type { PointState } from '../events/decider'
import type { FeedQuery } from '../events/feed'
import type { UserId } from '../events/model'
import type { Plan, PointStore, StoreCall, StoreFault } from '../events/store'

/** A store that passes every call on to `inner`, but for the calls given, which decorators and tests replace. */
export const delegating = (inner: PointStore, overrides: Partial<PointStore> = {}): PointStore => ({
  load: (userId) => inner.load(userId),
  append: (userId, expectedVersion, plan) => inner.append(userId, expectedVersion, plan),
  receipts: (userId, keys) => inner.receipts(userId, keys),
  references: (userId, named) => inner.references(userId, named),
  holds: (userId, at) => inner.holds(userId, at),
  expiredHolds: (now, limit) => inner.expiredHolds(now, limit),
  balance: (userId) => inner.balance(userId),
  history: (userId, query) => inner.history(userId, query),
  close: () => inner.close(),
  ...(inner.appendLocked === undefined ? {} : { appendLocked: inner.appendLocked.bind(inner) }),
  ...(inner.balanceAt === undefined ? {} : { balanceAt: inner.balanceAt.bind(inner) }),
  ...(inner.balanceWithHolds === undefined ? {} : { balanceWithHolds: inner.balanceWithHolds.bind(inner) }),
  ...(inner.readiness === undefined ? {} : { readiness: inner.readiness.bind(inner) }),
  ...(inner.feed === undefined ? {} : { feed: inner.feed.bind(inner) }),
  ...(inner.feedPositions === undefined ? {} : { feedPositions: inner.feedPositions }),
  ...overrides,
})

/** Runs around one store call, told which it is; answers what the call answers. */
export type Around = <A>(call: StoreCall, task: TE.TaskEither<StoreFault, A>) => TE.TaskEither<StoreFault, A>

/** The same store with every call but `close` passed through `around`: how timing and counting decorators are built. */
export const wrapping = (inner: PointStore, around: Around): PointStore => {
  const locked = inner.appendLocked?.bind(inner)
  const balanceAt = inner.balanceAt?.bind(inner)
  const withHolds = inner.balanceWithHolds?.bind(inner)
  const feed = inner.feed?.bind(inner)
  return delegating(inner, {
    load: (userId) => around('load', inner.load(userId)),
    append: (userId, expectedVersion, plan) => around('append', inner.append(userId, expectedVersion, plan)),
    receipts: (userId, keys) => around('receipts', inner.receipts(userId, keys)),
    references: (userId, named) => around('references', inner.references(userId, named)),
    holds: (userId, at) => around('holds', inner.holds(userId, at)),
    expiredHolds: (now, limit) => around('expiredHolds', inner.expiredHolds(now, limit)),
    balance: (userId) => around('balance', inner.balance(userId)),
    history: (userId, query) => around('history', inner.history(userId, query)),
    ...(locked === undefined
      ? {}
      : { appendLocked: <P extends Plan>(userId: UserId, plan: (state: PointState) => P) => around('append', locked(userId, plan)) }),
    ...(balanceAt === undefined ? {} : { balanceAt: (userId: UserId, at: number) => around('balanceAt', balanceAt(userId, at)) }),
    ...(withHolds === undefined
      ? {}
      : { balanceWithHolds: (userId: UserId, at?: number) => around(at === undefined ? 'balance' : 'balanceAt', withHolds(userId, at)) }),
    ...(feed === undefined ? {} : { feed: (query: FeedQuery) => around('feed', feed(query)) }),
  })
}
