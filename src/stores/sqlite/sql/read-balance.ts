import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/**
 * A user's balance as of their last event, which stores the balance it leaves: the highest version, found through
 * events_by_user_version backwards, with no scan and no sort. Its time is the event's, as a point-in-time read
 * answers it. Exported so the read with holds can share it and a test can check its plan.
 */
export const lastBalanceSql = `SELECT user_id AS id, balance_after AS point, time_millis AS updateMillis FROM events
  WHERE user_id = @userId ORDER BY version DESC LIMIT 1`

/** A user's balance row; undefined for a user never seen. */
export const readBalance = (db: Database) => {
  const statement = db.prepare<{ userId: UserId }, unknown>(lastBalanceSql)
  return (userId: UserId): unknown => statement.get({ userId })
}
