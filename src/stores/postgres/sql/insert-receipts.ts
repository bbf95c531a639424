import type { AppendJob } from '../../sql/rows'
import type { Executor } from '../pool'

/** Records the answers to a job's keyed commands; a key already recorded is a unique violation. */
export async function insertReceipts(db: Executor, { userId, plan: { receipts } }: AppendJob, now: number): Promise<void> {
  if (receipts.length === 0) return
  await db.query(
    `INSERT INTO receipts (key, user_id, fingerprint, outcome, update_millis)
       SELECT k, $1, f, o, $4 FROM unnest($2::text[], $3::text[], $5::jsonb[]) AS r(k, f, o)`,
    [userId, receipts.map((r) => r.key), receipts.map((r) => r.fingerprint), now, receipts.map((r) => JSON.stringify(r.outcome))],
  )
}
