import type { UserId, UserPoint } from '../../../events/model'
import { BalanceRow, decodeRow } from '../../sql/rows'
import type { Executor } from '../pool'

/**
 * The user's last event at or before `at`, found by a binary search on its versions: times never go backwards
 * along a user's versions (see claim-and-write.ts), so they are sorted by version too, and no index on time is
 * kept for this read alone (schema step 8). `low` is the last version known to be at or before `at` (0: none
 * yet), `high` the last one that may be; each step looks up the middle event through events_by_user_version, so
 * a user of a million events costs about twenty lookups. One statement, so one snapshot under READ COMMITTED,
 * whatever commits meanwhile. The middle is taken as low + (high - low + 1) / 2, as versions are INTEGER: their sum
 * would overflow past about a billion. Exported so a test can check its plan.
 */
export const balanceAtSql = `WITH RECURSIVE search (low, high) AS (
      SELECT 0, (SELECT max(version) FROM events WHERE user_id = $1)
      UNION ALL
      SELECT CASE WHEN e.time_millis <= $2 THEN e.version ELSE s.low END,
             CASE WHEN e.time_millis <= $2 THEN s.high ELSE e.version - 1 END
        FROM search s JOIN events e ON e.user_id = $1 AND e.version = s.low + (s.high - s.low + 1) / 2
        WHERE s.low < s.high
    )
  SELECT user_id AS id, balance_after AS point, time_millis AS "updateMillis" FROM events
  WHERE user_id = $1 AND version = (SELECT low FROM search WHERE low = high)`

/** The balance after the user's last event at or before `at`; 0 as of `at` if there is none. */
export async function readBalanceAt(db: Executor, userId: UserId, at: number): Promise<UserPoint> {
  const { rows } = await db.query({ name: 'balance-at', text: balanceAtSql, values: [userId, at] })
  return rows.length === 0 ? { id: userId, point: 0, updateMillis: at } : decodeRow(BalanceRow, rows[0], { table: 'events', key: `user_id ${userId}, time_millis <= ${at}` })
}
