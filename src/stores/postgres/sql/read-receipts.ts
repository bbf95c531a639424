import type { IdempotencyKey, UserId } from '../../../events/model'
import type { Receipt } from '../../../events/store'
import { toReceipt } from '../../sql/rows'
import type { Executor } from '../pool'

/** The user's stored receipts among these keys, recorded after `after` (older ones are past the window). */
export async function readReceipts(db: Executor, userId: UserId, keys: readonly IdempotencyKey[], after: number): Promise<Receipt[]> {
  const { rows } = await db.query({
    name: 'receipts',
    text: `SELECT key, user_id AS "userId", fingerprint, outcome, update_millis AS "updateMillis"
       FROM receipts WHERE user_id = $1 AND key = ANY($2::text[]) AND update_millis > $3`,
    values: [userId, keys, after],
  })
  return rows.map(toReceipt)
}
