import type { Database } from 'better-sqlite3'

/** Up to `limit` unresolved holds of any user due at `now`, soonest first, through the index on their expiry. */
export const readExpiredHolds = (db: Database) => {
  const statement = db.prepare<[number, number], unknown>(
    'SELECT user_id AS userId, hold_id AS holdId FROM holds WHERE expires_millis <= ? ORDER BY expires_millis LIMIT ?',
  )
  return (now: number, limit: number): unknown[] => statement.all(now, limit)
}
