import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** The user's USE events among `ids`, each with the sum of its refunds so far. */
export const readUses = (db: Database) => {
  const statement = db.prepare<[UserId, string], unknown>(
    `SELECT u.id, u.amount,
       (SELECT coalesce(sum(r.amount), 0) FROM events r WHERE r.user_id = u.user_id AND r.ref = u.id AND r.type = 'REFUND') AS refunded
     FROM events u WHERE u.user_id = ? AND u.id IN (SELECT value FROM json_each(?)) AND u.type = 'USE'`,
  )
  return (userId: UserId, ids: readonly number[]): unknown[] => statement.all(userId, JSON.stringify(ids))
}

/** How each of the user's holds among `ids` was resolved, for those that were. */
export const readEndings = (db: Database) => {
  const statement = db.prepare<[UserId, string], unknown>(
    `SELECT ref AS holdId, type FROM events
     WHERE user_id = ? AND ref IN (SELECT value FROM json_each(?)) AND type IN ('CAPTURE', 'RELEASE', 'EXPIRE')`,
  )
  return (userId: UserId, ids: readonly number[]): unknown[] => statement.all(userId, JSON.stringify(ids))
}
