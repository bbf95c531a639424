import type { Database } from 'better-sqlite3'
import type { DuplicateKey } from '../../../projections/audit-run'

/** Keys recorded more than once: the table's key forbids it, unless the schema was changed by hand. */
export const duplicateKeys = (db: Database) => {
  const statement = db.prepare<[], DuplicateKey>('SELECT key, COUNT(*) AS count FROM receipts GROUP BY key HAVING COUNT(*) > 1')
  return (): DuplicateKey[] => statement.all()
}
