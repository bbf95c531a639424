import type { Database } from 'better-sqlite3'
import type { IdempotencyKey } from '../../../events/model'

/** The receipt rows among these keys. */
export const readReceipts = (db: Database) => {
  const statement = db.prepare<[string], unknown>(
    `SELECT key, user_id AS userId, fingerprint, outcome, update_millis AS updateMillis
     FROM receipts WHERE key IN (SELECT value FROM json_each(?))`,
  )
  return (keys: readonly IdempotencyKey[]): unknown[] => statement.all(JSON.stringify(keys))
}
