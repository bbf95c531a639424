import type { Database } from 'better-sqlite3'
import type { IdempotencyKey, UserId } from '../../../events/model'

/** The user's receipt rows among these keys, recorded after `after` (older ones are past the window). */
export const readReceipts = (db: Database) => {
  const statement = db.prepare<[number, string, number], unknown>(
    `SELECT key, user_id AS userId, fingerprint, outcome, update_millis AS updateMillis
     FROM receipts WHERE user_id = ? AND key IN (SELECT value FROM json_each(?)) AND update_millis > ?`,
  )
  return (userId: UserId, keys: readonly IdempotencyKey[], after: number): unknown[] => statement.all(userId, JSON.stringify(keys), after)
}
