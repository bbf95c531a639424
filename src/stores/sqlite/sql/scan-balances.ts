import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** user, point, version. */
export type ScannedBalance = [UserId, number, number]

/** Every projection row, or one user's, streamed row by row. */
export const scanBalances = (db: Database) => {
  const all = db.prepare<[], ScannedBalance>('SELECT user_id, point, version FROM balances ORDER BY user_id').raw()
  const one = db.prepare<[UserId], ScannedBalance>('SELECT user_id, point, version FROM balances WHERE user_id = ?').raw()
  return (userId?: UserId): IterableIterator<ScannedBalance> => (userId === undefined ? all.iterate() : one.iterate(userId))
}
