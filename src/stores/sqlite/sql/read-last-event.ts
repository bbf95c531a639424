import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/**
 * A user's last event, which stores the balance and version it leaves: versions have no gaps, so the highest is the
 * user's. Read backwards through events_by_user_version, one entry and one row, no scan and no sort. Its time is the
 * event's, as a point-in-time read answers it. Exported so the read with holds can share it and a test can check its plan.
 */
export const lastEventSql = `SELECT user_id AS id, balance_after AS point, version, time_millis AS updateMillis FROM events
  WHERE user_id = @userId ORDER BY version DESC LIMIT 1`

/**
 * The one statement a balance, the writer's starting state and an append's check are read with: undefined for a
 * user never seen.
 */
export const readLastEvent = (db: Database) => {
  const statement = db.prepare<{ userId: UserId }, unknown>(lastEventSql)
  return (userId: UserId): unknown => statement.get({ userId })
}
