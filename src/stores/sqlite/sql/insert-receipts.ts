import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'
import type { NewReceipt } from '../../../events/store'

/** Records the answers to a batch's keyed commands; a key already recorded fails on the primary key. */
export const insertReceipts = (db: Database) => {
  const statement = db.prepare('INSERT INTO receipts (key, user_id, fingerprint, outcome, update_millis) VALUES (?, ?, ?, ?, ?)')
  return (userId: UserId, receipts: readonly NewReceipt[], updateMillis: number): void => {
    for (const { key, fingerprint, outcome } of receipts) statement.run(key, userId, fingerprint, JSON.stringify(outcome), updateMillis)
  }
}
