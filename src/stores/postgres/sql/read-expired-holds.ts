import type { UserId } from '../../../events/model'
import { toDueHold } from '../../sql/rows'
import type { Executor } from '../pool'

/** Up to `limit` unresolved holds of any user due at `now`, soonest first, through the index on their expiry. */
export async function readExpiredHolds(db: Executor, now: number, limit: number): Promise<Array<{ userId: UserId; holdId: number }>> {
  const { rows } = await db.query({
    name: 'expired-holds',
    text: 'SELECT user_id AS "userId", hold_id AS "holdId" FROM holds WHERE expires_millis <= $1 ORDER BY expires_millis LIMIT $2',
    values: [now, limit],
  })
  return rows.map(toDueHold)
}
