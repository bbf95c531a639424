import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** The user's last event's balance and version, through events_by_user_version backwards. Exported so a test can check its plan. */
export const stateSql = 'SELECT balance_after AS balance, version FROM events WHERE user_id = ? ORDER BY version DESC LIMIT 1'

/** A user's balance and version, the writer's starting state; undefined for a user never seen. */
export const loadState = (db: Database) => {
  const statement = db.prepare<[UserId], unknown>(stateSql)
  return (userId: UserId): unknown => statement.get(userId)
}
