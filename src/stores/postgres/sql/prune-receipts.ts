import type { Executor } from '../pool'

/**
 * Deletes at most `limit` receipts recorded at or before `expiredBy`, oldest first, through their time's index.
 * Rows another instance's pruner or writer has locked are skipped, not waited for, so pruners on several
 * instances take disjoint batches and a writer replacing an expired receipt is never blocked by one.
 */
export async function pruneReceipts(db: Executor, expiredBy: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM receipts r USING (
       SELECT user_id, key FROM receipts WHERE update_millis <= $1
       ORDER BY update_millis LIMIT $2 FOR UPDATE SKIP LOCKED
     ) old
     WHERE r.user_id = old.user_id AND r.key = old.key`,
    [expiredBy, limit],
  )
  return rowCount ?? 0
}
