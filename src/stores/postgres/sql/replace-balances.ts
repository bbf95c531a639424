import type { UserId } from '../../../events/model'
import type { Executor } from '../pool'

/** Replaces the whole projection, or one user's row of it, with these states; run it in a transaction. */
export async function replaceBalances(
  db: Executor,
  states: ReadonlyArray<{ userId: UserId; balance: number; version: number }>,
  now: number,
  userId?: UserId,
): Promise<void> {
  await db.query('DELETE FROM balances WHERE $1::bigint IS NULL OR user_id = $1', [userId ?? null])
  await db.query(
    `INSERT INTO balances (user_id, point, version, update_millis)
       SELECT u, p, v, $4 FROM unnest($1::bigint[], $2::bigint[], $3::integer[]) AS s(u, p, v)`,
    [states.map((s) => s.userId), states.map((s) => s.balance), states.map((s) => s.version), now],
  )
}
