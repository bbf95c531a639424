import { PointHistoryTable, UserPointTable, type DelayRange } from '../../database'
import { MemoryStore, type MemoryStoreOptions } from '../../src/stores/memory'

/** Short but never zero, so calls still overlap and complete out of order. */
export const shortDelay: DelayRange = { min: 1, max: 8 }

export const fastTables = (delay: DelayRange = shortDelay) => ({
  points: new UserPointTable({ readDelay: delay, writeDelay: delay }),
  histories: new PointHistoryTable({ readDelay: delay, writeDelay: delay }),
})

export const fastMemoryStore = (delay: DelayRange = shortDelay, options: MemoryStoreOptions = {}): MemoryStore => {
  const { points, histories } = fastTables(delay)
  return new MemoryStore(points, histories, options)
}
