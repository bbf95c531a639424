import type { Database } from 'better-sqlite3'
import { invalidEvent } from './invalid-event'

/**
 * A user whose served balance schema step 9 would change: the balances table's row and the user's last event's
 * `balance_after` (null where there is none: step 8 answered 0 for both), what the events' amounts come to, and
 * whether the log agrees with itself: every row a valid event, and their amounts summing to the last event's balance.
 */
export interface BalanceDisagreement {
  readonly userId: number
  readonly row: number | null
  readonly lastEvent: number | null
  readonly amounts: number
  readonly logAgrees: boolean
}

// SQLite takes a bare column of a query with one max() from the row holding the max: the last event's balance_after.
// A hold, a release and an expiry move no points; a capture takes them as a use does. Compared in SQL, as 64-bit
// integers: past 2^53 two different numbers read into JavaScript can come out equal. A row that is not a valid event
// is one the audit flags and leaves out of its replay, so such a log does not agree with itself.
const sql = `WITH log AS (
    SELECT user_id, max(version), balance_after,
      sum(CASE WHEN type IN ('CHARGE', 'REFUND') THEN amount WHEN type IN ('USE', 'CAPTURE') THEN -amount ELSE 0 END) AS amounts,
      count(${invalidEvent}) AS invalid
    FROM events GROUP BY user_id)
  SELECT coalesce(log.user_id, b.user_id) AS userId, b.point AS row, log.balance_after AS lastEvent,
    coalesce(log.amounts, 0) AS amounts,
    coalesce(log.invalid, 0) = 0 AND coalesce(log.amounts, 0) = coalesce(log.balance_after, 0) AS logAgrees
  FROM log FULL JOIN balances b ON b.user_id = log.user_id
  WHERE coalesce(b.point, 0) IS NOT coalesce(log.balance_after, 0)
  ORDER BY userId`

type Row = Omit<BalanceDisagreement, 'logAgrees'> & { readonly logAgrees: number }

/**
 * The users whose balances row (schema step 8) and last event disagree, read in one pass over the log. Asked once,
 * before step 9 drops the table, so the step never changes a balance the service was answering without saying so.
 */
export const compareBalances = (db: Database): BalanceDisagreement[] =>
  db
    .prepare<[], Row>(sql)
    .all()
    .map((row) => ({ ...row, logAgrees: row.logAgrees === 1 }))
