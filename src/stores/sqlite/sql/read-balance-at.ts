import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** Exported so a test can check its plan: a search of events_by_user_time, no sort, no scan. */
export const balanceAtSql = `SELECT user_id AS id, balance_after AS point, time_millis AS updateMillis FROM events
  WHERE user_id = @userId AND time_millis <= @at ORDER BY time_millis DESC, version DESC LIMIT 1`

/** The user's last event at or before `at`; undefined if there is none. */
export const readBalanceAt = (db: Database) => {
  const statement = db.prepare<{ userId: UserId; at: number }, unknown>(balanceAtSql)
  return (userId: UserId, at: number): unknown => statement.get({ userId, at })
}
