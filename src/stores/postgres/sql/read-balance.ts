import type { UserId, UserPoint } from '../../../events/model'
import { BalanceRow, decodeRow } from '../../sql/rows'
import type { Executor } from '../pool'

/** A user's projected balance; a user never seen has 0, as of `now`. */
export async function readBalance(db: Executor, userId: UserId, now: () => number): Promise<UserPoint> {
  const { rows } = await db.query({
    name: 'balance',
    text: 'SELECT user_id AS id, point, update_millis AS "updateMillis" FROM balances WHERE user_id = $1',
    values: [userId],
  })
  return rows.length === 0 ? { id: userId, point: 0, updateMillis: now() } : decodeRow(BalanceRow, rows[0], { table: 'balances', key: `user_id ${userId}` })
}
