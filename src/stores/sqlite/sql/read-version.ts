import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** The version the projection holds for a user, checked inside the append's transaction. */
export const readVersion = (db: Database) => {
  const statement = db.prepare<[UserId], number>('SELECT version FROM balances WHERE user_id = ?').pluck()
  return (userId: UserId): number => statement.get(userId) ?? 0
}
