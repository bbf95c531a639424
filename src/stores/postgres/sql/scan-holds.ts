import type { UserId } from '../../../events/model'
import type { HoldsRow } from '../../../projections/audit'
import { scanPage } from '../../sql/rows'
import type { Executor } from '../pool'

/** One page of the holds table after row (`afterUser`, `afterHold`), every user's or one user's, in key order. */
export async function scanHolds(db: Executor, userId: UserId | undefined, afterUser: number, afterHold: number): Promise<HoldsRow[]> {
  const { rows } = await db.query<HoldsRow>(
    `SELECT user_id AS "userId", hold_id AS "holdId", amount, expires_millis AS "expiresAt", placed_millis AS "placedAt" FROM holds
       WHERE ($1::bigint IS NULL OR user_id = $1) AND (user_id, hold_id) > ($2, $3) ORDER BY user_id, hold_id LIMIT ${scanPage}`,
    [userId ?? null, afterUser, afterHold],
  )
  return rows
}
