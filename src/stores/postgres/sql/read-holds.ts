import type { UserId } from '../../../events/model'
import type { StoredHold } from '../../../events/store'
import { toStoredHold } from '../../sql/rows'
import type { Executor } from '../pool'

/**
 * The holds a user had active at `at`: placed at or before it and not resolved by then, from the log. `ref IS NOT
 * NULL` lets both reads use the partial index `events_by_ref` (only the events that name another: holds, their
 * ends, refunds), so a long history of charges and uses is not walked on the `?at=` read.
 */
export const holdsAtSql = `SELECT h.ref AS "holdId", h.amount, h.expires_millis AS "expiresAt", h.time_millis AS "placedAt" FROM events h
  WHERE h.user_id = $1 AND h.ref IS NOT NULL AND h.type = 'HOLD' AND h.time_millis <= $2
    AND NOT EXISTS (SELECT 1 FROM events r WHERE r.user_id = $1 AND r.ref = h.ref
      AND r.type IN ('CAPTURE', 'RELEASE', 'EXPIRE') AND r.time_millis <= $2)
  ORDER BY h.ref`

/** The holds of the `balances` row `b` as one JSON array (NULL for none), for a statement that reads both at once. */
export const holdsOfBalanceJson = `(SELECT json_agg(json_build_object('holdId', h.hold_id, 'amount', h.amount, 'expiresAt', h.expires_millis, 'placedAt', h.placed_millis)
       ORDER BY h.hold_id) FROM holds h WHERE h.user_id = b.user_id)`

/** The user's holds no event has resolved yet, from the table the trigger keeps; with `at`, those active then. */
export async function readHolds(db: Executor, userId: UserId, at?: number): Promise<StoredHold[]> {
  const { rows } =
    at === undefined
      ? await db.query({
          name: 'holds',
          text: `SELECT hold_id AS "holdId", amount, expires_millis AS "expiresAt", placed_millis AS "placedAt"
             FROM holds WHERE user_id = $1 ORDER BY hold_id`,
          values: [userId],
        })
      : await db.query({ name: 'holds-at', text: holdsAtSql, values: [userId, at] })
  return rows.map(toStoredHold)
}
