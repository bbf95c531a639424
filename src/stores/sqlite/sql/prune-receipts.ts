import type { Database } from 'better-sqlite3'

/** Deletes at most `limit` receipts recorded at or before `expiredBy`, oldest first, found through their time's index. */
export const pruneReceipts = (db: Database) => {
  const statement = db.prepare<[number, number]>(
    `DELETE FROM receipts WHERE (user_id, key) IN (
       SELECT user_id, key FROM receipts WHERE update_millis <= ? ORDER BY update_millis LIMIT ?)`,
  )
  return (expiredBy: number, limit: number): number => statement.run(expiredBy, limit).changes
}
