import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** A user's projected balance row; undefined for a user never seen. */
export const readBalance = (db: Database) => {
  const statement = db.prepare<[UserId], unknown>('SELECT user_id AS id, point, update_millis AS updateMillis FROM balances WHERE user_id = ?')
  return (userId: UserId): unknown => statement.get(userId)
}
