import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** The version and balance the projection holds for a user, checked inside the append's transaction. */
export const readVersion = (db: Database) => {
  const statement = db.prepare<[UserId], { version: number; point: unknown }>('SELECT version, point FROM balances WHERE user_id = ?')
  return (userId: UserId): { readonly version: number; readonly point: unknown } => statement.get(userId) ?? { version: 0, point: 0 }
}
