import type { UserId } from '../../../events/model'
import type { ProjectionRow } from '../../../projections/audit'
import { scanPage } from '../../sql/rows'
import type { Executor } from '../pool'

/** One page of projection rows after user `after`, every user's or one user's. */
export async function scanBalances(db: Executor, userId: UserId | undefined, after: number): Promise<Array<ProjectionRow & { version: number }>> {
  const { rows } = await db.query<{ userId: UserId; point: number; version: number }>(
    `SELECT user_id AS "userId", point, version FROM balances
       WHERE ($1::bigint IS NULL OR user_id = $1) AND user_id > $2 ORDER BY user_id LIMIT ${scanPage}`,
    [userId ?? null, after],
  )
  return rows
}
