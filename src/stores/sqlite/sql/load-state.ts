import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** A user's balance and version, the writer's starting state; undefined for a user never seen. */
export const loadState = (db: Database) => {
  const statement = db.prepare<[UserId], unknown>('SELECT point AS balance, version FROM balances WHERE user_id = ?')
  return (userId: UserId): unknown => statement.get(userId)
}
