export { UserPointTable } from './UserPointTable'
export { PointHistoryTable } from './PointHistoryTable'
export type { UserPoint, PointHistory, TransactionType } from './models'
export type { DelayRange, Sleep, TableOptions } from './latency'
