import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/**
 * The version and balance of a user's last event: versions have no gaps, so the highest is the user's version. Read
 * backwards through events_by_user_version, one entry and one row. Exported so a test can check its plan.
 */
export const versionSql = 'SELECT version, balance_after AS point FROM events WHERE user_id = ? ORDER BY version DESC LIMIT 1'

/** The version and balance an append is checked against, inside its transaction; version 0 for a user never seen. */
export const readVersion = (db: Database) => {
  const statement = db.prepare<[UserId], { version: number; point: unknown }>(versionSql)
  return (userId: UserId): { readonly version: number; readonly point: unknown } => statement.get(userId) ?? { version: 0, point: 0 }
}
