import type { DuplicateKey } from '../../../projections/audit-run'
import type { Executor } from '../pool'

/** (user, key) pairs recorded more than once: the table's key forbids it, unless the schema was changed by hand. */
export async function duplicateKeys(db: Executor): Promise<DuplicateKey[]> {
  const { rows } = await db.query<DuplicateKey>(
    'SELECT user_id AS "userId", key, count(*)::integer AS count FROM receipts GROUP BY user_id, key HAVING count(*) > 1',
  )
  return rows
}
