import type { UserId, UserPoint } from '../../../events/model'
import { BalanceRow, decodeRow } from '../../sql/rows'
import type { Executor } from '../pool'

/** Exported so a test can check its plan: one backward scan of events_by_user_time, stopped at the first row. */
export const balanceAtSql = `SELECT user_id AS id, balance_after AS point, time_millis AS "updateMillis" FROM events
  WHERE user_id = $1 AND time_millis <= $2 ORDER BY time_millis DESC, version DESC LIMIT 1`

/** The balance after the user's last event at or before `at`; 0 as of `at` if there is none. */
export async function readBalanceAt(db: Executor, userId: UserId, at: number): Promise<UserPoint> {
  const { rows } = await db.query({ name: 'balance-at', text: balanceAtSql, values: [userId, at] })
  return rows.length === 0 ? { id: userId, point: 0, updateMillis: at } : decodeRow(BalanceRow, rows[0], { table: 'events', key: `user_id ${userId}, time_millis <= ${at}` })
}
