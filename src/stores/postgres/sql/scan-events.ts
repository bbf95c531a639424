import type { UserId } from '../../../events/model'
import type { LogEntry } from '../../../projections/audit'
import { scanPage, signedEntry } from '../../sql/rows'
import type { Executor } from '../pool'

type Row = {
  id: number
  user_id: UserId
  version: number
  signed: number
  balance_after: number
  time_millis: number
  invalid: string | null
  newer: string | null
  ref: number | null
  expires_millis: number | null
  use_amount: number | null
}

/** One page of the log after event `after`, every user's or one user's, in id order. */
export async function scanEvents(db: Executor, userId: UserId | undefined, after: number): Promise<LogEntry[]> {
  const { rows } = await db.query<Row>(
    `SELECT id, user_id, version, CASE WHEN type = 'CHARGE' THEN amount ELSE -amount END AS signed, balance_after, time_millis,
         CASE WHEN type NOT IN ('CHARGE', 'USE', 'REFUND', 'HOLD', 'CAPTURE', 'RELEASE', 'EXPIRE') THEN 'type ' || quote_literal(type)
           WHEN amount <= 0 THEN 'amount ' || amount END AS invalid,
         CASE WHEN type IN ('CHARGE', 'USE') THEN NULL ELSE type END AS newer, ref, expires_millis,
         -- Looked up for refunds alone: CASE runs the subquery only for them.
         CASE WHEN type = 'REFUND' THEN (SELECT u.amount FROM events u WHERE u.id = e.ref AND u.user_id = e.user_id AND u.type = 'USE') END AS use_amount
       FROM events e WHERE ($1::bigint IS NULL OR user_id = $1) AND id > $2 ORDER BY id LIMIT ${scanPage}`,
    [userId ?? null, after],
  )
  return rows.map(({ id, user_id, version, signed, balance_after, time_millis, invalid, newer, ref, expires_millis, use_amount }) =>
    signedEntry(id, user_id, version, signed, balance_after, time_millis, invalid, newer, ref, expires_millis, use_amount),
  )
}
