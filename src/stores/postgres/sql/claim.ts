import { balanceBefore } from '../../sql/balance-after'
import type { AppendJob } from '../../sql/rows'
import type { Executor } from '../pool'

/**
 * Moves the projection row from the expected version to the new one, or finds it moved.
 * The update locks the row until commit, so a rival instance's claim waits, then sees the
 * new version and is refused: the check and the write are one step.
 */
export async function claim(db: Executor, { userId, expectedVersion, plan }: AppendJob, now: number): Promise<boolean> {
  // A batch of keyed rejections only: the row stays as it is, but the version must still hold.
  const next = plan.events.length === 0 ? { balance: null, version: expectedVersion } : plan.projection
  if (expectedVersion === 0 && plan.events.length === 0) {
    const { rowCount } = await db.query('SELECT 1 FROM balances WHERE user_id = $1 FOR SHARE', [userId])
    return rowCount === 0
  }
  const result =
    expectedVersion === 0
      ? await db.query(
          `INSERT INTO balances (user_id, point, version, update_millis) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO NOTHING`,
          [userId, next.balance, next.version, now],
        )
      : await db.query(
          `UPDATE balances SET point = coalesce($2, point), version = $3,
               update_millis = CASE WHEN $2::bigint IS NULL THEN update_millis ELSE $4 END
             WHERE user_id = $1 AND version = $5 AND point = $6`,
          [userId, next.balance, next.version, now, expectedVersion, balanceBefore(plan)],
        )
  return result.rowCount === 1
}
