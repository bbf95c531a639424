import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** user, hold, amount, expires, placed. */
export type ScannedHold = [UserId, number, number, number, number]

const columns = 'user_id, hold_id, amount, expires_millis, placed_millis'

/** Every row of the holds table, or one user's, streamed row by row in key order. */
export const scanHolds = (db: Database) => {
  const all = db.prepare<[], ScannedHold>(`SELECT ${columns} FROM holds ORDER BY user_id, hold_id`).raw()
  const one = db.prepare<[UserId], ScannedHold>(`SELECT ${columns} FROM holds WHERE user_id = ? ORDER BY hold_id`).raw()
  return (userId?: UserId): IterableIterator<ScannedHold> => (userId === undefined ? all.iterate() : one.iterate(userId))
}
