import type { PointState } from '../src/events/decider'
import type { IdempotencyKey, PointEvent, UserId } from '../src/events/model'
import type { NewReceipt, PointStore } from '../src/events/store'

/** Passes every call through and counts the batches appended, for the mean batch size. */
export class CountingStore implements PointStore {
  private appends = 0
  private events = 0

  constructor(private readonly inner: PointStore) {}

  /** Events per `append`: how many accepted commands one batch carried on average. */
  get meanBatch(): number {
    return this.appends === 0 ? 0 : this.events / this.appends
  }

  load(userId: UserId) {
    return this.inner.load(userId)
  }

  append(userId: UserId, events: readonly PointEvent[], expectedVersion: number, projection: PointState, receipts?: readonly NewReceipt[]) {
    this.appends += 1
    this.events += events.length
    return this.inner.append(userId, events, expectedVersion, projection, receipts)
  }

  receipts(keys: readonly IdempotencyKey[]) {
    return this.inner.receipts(keys)
  }

  balance(userId: UserId) {
    return this.inner.balance(userId)
  }

  history(userId: UserId) {
    return this.inner.history(userId)
  }

  close() {
    return this.inner.close()
  }
}
