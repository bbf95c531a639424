import type { IdempotencyKey } from '../../../events/model'
import type { Receipt } from '../../../events/store'
import { toReceipt } from '../../sql/rows'
import type { Executor } from '../pool'

/** The stored receipts among these keys. */
export async function readReceipts(db: Executor, keys: readonly IdempotencyKey[]): Promise<Receipt[]> {
  const { rows } = await db.query({
    name: 'receipts',
    text: `SELECT key, user_id AS "userId", fingerprint, outcome, update_millis AS "updateMillis"
       FROM receipts WHERE key = ANY($1::text[])`,
    values: [keys],
  })
  return rows.map(toReceipt)
}
