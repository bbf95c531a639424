import type { UserId } from '../../../events/model'
import type { LogEntry } from '../../../projections/audit'
import { scanPage, signedEntry } from '../../sql/rows'
import type { Executor } from '../pool'

type Row = { id: number; user_id: UserId; version: number; signed: number; balance_after: number; time_millis: number; invalid: string | null }

/** One page of the log after event `after`, every user's or one user's, in id order. */
export async function scanEvents(db: Executor, userId: UserId | undefined, after: number): Promise<LogEntry[]> {
  const { rows } = await db.query<Row>(
    `SELECT id, user_id, version, CASE WHEN type = 'CHARGE' THEN amount ELSE -amount END AS signed, balance_after, time_millis,
         CASE WHEN type NOT IN ('CHARGE', 'USE') THEN 'type ' || quote_literal(type)
           WHEN amount <= 0 THEN 'amount ' || amount END AS invalid
       FROM events WHERE ($1::bigint IS NULL OR user_id = $1) AND id > $2 ORDER BY id LIMIT ${scanPage}`,
    [userId ?? null, after],
  )
  return rows.map(({ id, user_id, version, signed, balance_after, time_millis, invalid }) =>
    signedEntry(id, user_id, version, signed, balance_after, time_millis, invalid),
  )
}
