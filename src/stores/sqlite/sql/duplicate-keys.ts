import type { Database } from 'better-sqlite3'
import type { DuplicateKey } from '../../../projections/audit-run'

/** (user, key) pairs recorded more than once: the table's key forbids it, unless the schema was changed by hand. */
export const duplicateKeys = (db: Database) => {
  const statement = db.prepare<[], DuplicateKey>(
    'SELECT user_id AS userId, key, COUNT(*) AS count FROM receipts GROUP BY user_id, key HAVING COUNT(*) > 1',
  )
  return (): DuplicateKey[] => statement.all()
}
