import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/**
 * The user's last event at or before `at`, found by a binary search on its versions: times never go backwards
 * along a user's versions (see insert-events.ts), so they are sorted by version too. `low` is the last version
 * known to be at or before `at` (0: none yet), `high` the last one that may be; each step looks up the middle
 * event through events_by_user_version. One statement, so one snapshot, whatever commits meanwhile. Exported so a
 * test can check its plan.
 */
export const balanceAtSql = `WITH RECURSIVE search (low, high) AS (
    SELECT 0, (SELECT max(version) FROM events WHERE user_id = @userId)
    UNION ALL
    SELECT iif(e.time_millis <= @at, e.version, s.low), iif(e.time_millis <= @at, s.high, e.version - 1)
      FROM search s JOIN events e ON e.user_id = @userId AND e.version = s.low + (s.high - s.low + 1) / 2
      WHERE s.low < s.high
  )
  SELECT user_id AS id, balance_after AS point, time_millis AS updateMillis FROM events
  WHERE user_id = @userId AND version = (SELECT low FROM search WHERE low = high)`

/** The user's last event at or before `at`; undefined if there is none. */
export const readBalanceAt = (db: Database) => {
  const statement = db.prepare<{ userId: UserId; at: number }, unknown>(balanceAtSql)
  return (userId: UserId, at: number): unknown => statement.get({ userId, at })
}
