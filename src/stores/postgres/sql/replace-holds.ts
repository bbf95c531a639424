import type { UserId } from '../../../events/model'
import type { ReplayedState } from '../../../projections/audit'
import type { Executor } from '../pool'

/** Replaces the holds table, or one user's rows of it, with the holds these states leave unresolved; run it in a transaction. */
export async function replaceHolds(db: Executor, states: readonly ReplayedState[], userId?: UserId): Promise<void> {
  await db.query('DELETE FROM holds WHERE $1::bigint IS NULL OR user_id = $1', [userId ?? null])
  const rows = states.flatMap((state) => state.holds.map((hold) => ({ userId: state.userId, ...hold })))
  await db.query(
    `INSERT INTO holds (user_id, hold_id, amount, expires_millis, placed_millis)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])`,
    [rows.map((r) => r.userId), rows.map((r) => r.holdId), rows.map((r) => r.amount), rows.map((r) => r.expiresAt), rows.map((r) => r.placedAt)],
  )
}
