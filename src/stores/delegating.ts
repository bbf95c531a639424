import type { PointStore } from '../events/store'

/** A store that passes every call on to `inner`, but for the calls given, which decorators and tests replace. */
export const delegating = (inner: PointStore, overrides: Partial<PointStore> = {}): PointStore => {
  const locked = inner.appendLocked?.bind(inner)
  return {
    load: (userId) => inner.load(userId),
    append: (userId, events, expectedVersion, projection, receipts) =>
      inner.append(userId, events, expectedVersion, projection, receipts),
    receipts: (keys) => inner.receipts(keys),
    balance: (userId) => inner.balance(userId),
    history: (userId, query) => inner.history(userId, query),
    close: () => inner.close(),
    ...(locked === undefined ? {} : { appendLocked: locked }),
    ...overrides,
  }
}
