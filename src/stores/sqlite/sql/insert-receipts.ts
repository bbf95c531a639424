import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'
import type { NewReceipt } from '../../../events/store'

/**
 * Records the answers to a batch's keyed commands. A receipt of the same user and key recorded at or before
 * `expiredBy` is past the window and is replaced; a live one is left as it is. Answers how many were recorded:
 * fewer than given means another writer holds one of the keys.
 */
export const insertReceipts = (db: Database) => {
  const statement = db.prepare(
    `INSERT INTO receipts (key, user_id, fingerprint, outcome, update_millis) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (user_id, key) DO UPDATE SET
       fingerprint = excluded.fingerprint, outcome = excluded.outcome, update_millis = excluded.update_millis
     WHERE receipts.update_millis <= ?`,
  )
  return (userId: UserId, receipts: readonly NewReceipt[], updateMillis: number, expiredBy: number): number => {
    let recorded = 0
    for (const { key, fingerprint, outcome } of receipts) {
      recorded += statement.run(key, userId, fingerprint, JSON.stringify(outcome), updateMillis, expiredBy).changes
    }
    return recorded
  }
}
