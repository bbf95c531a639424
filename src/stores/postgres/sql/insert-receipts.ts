import type { AppendJob } from '../../sql/rows'
import type { Executor } from '../pool'

/**
 * Records the answers to a job's keyed commands. A receipt of the same user and key recorded at or before
 * `expiredBy` is past the window and is replaced; a live one is left as it is, and one another instance is
 * writing is waited for first. Answers whether every receipt was recorded: false means a rival holds a key.
 */
export async function insertReceipts(db: Executor, { userId, plan: { receipts } }: AppendJob, now: number, expiredBy: number): Promise<boolean> {
  if (receipts.length === 0) return true
  const { rowCount } = await db.query(
    `INSERT INTO receipts (key, user_id, fingerprint, outcome, update_millis)
       SELECT k, $1, f, o, $4 FROM unnest($2::text[], $3::text[], $5::jsonb[]) AS r(k, f, o)
     ON CONFLICT (user_id, key) DO UPDATE SET
       fingerprint = excluded.fingerprint, outcome = excluded.outcome, update_millis = excluded.update_millis
     WHERE receipts.update_millis <= $6`,
    [userId, receipts.map((r) => r.key), receipts.map((r) => r.fingerprint), now, receipts.map((r) => JSON.stringify(r.outcome)), expiredBy],
  )
  return rowCount === receipts.length
}
