import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

const columns = 'hold_id AS holdId, amount, expires_millis AS expiresAt, placed_millis AS placedAt'

/**
 * The user's holds no event has resolved yet, from the table the triggers keep; with `at`, those placed at or
 * before it and not resolved by then, from the log.
 */
export const readHolds = (db: Database) => {
  const active = db.prepare<[UserId], unknown>(`SELECT ${columns} FROM holds WHERE user_id = ? ORDER BY hold_id`)
  const asOf = db.prepare<{ userId: UserId; at: number }, unknown>(
    `SELECT h.ref AS holdId, h.amount, h.expires_millis AS expiresAt, h.time_millis AS placedAt FROM events h
     WHERE h.user_id = @userId AND h.type = 'HOLD' AND h.time_millis <= @at
       AND NOT EXISTS (SELECT 1 FROM events r WHERE r.user_id = @userId AND r.ref = h.ref
         AND r.type IN ('CAPTURE', 'RELEASE', 'EXPIRE') AND r.time_millis <= @at)
     ORDER BY h.ref`,
  )
  return (userId: UserId, at?: number): unknown[] => (at === undefined ? active.all(userId) : asOf.all({ userId, at }))
}
