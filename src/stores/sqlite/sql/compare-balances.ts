import type { Database } from 'better-sqlite3'

/**
 * A user whose served balance schema step 9 would change: the balances table's row (0 if there is none), the user's
 * last event's `balance_after` (0 if there are no events), and what the events' amounts come to.
 */
export interface BalanceDisagreement {
  readonly userId: number
  readonly row: number
  readonly lastEvent: number
  readonly amounts: number
}

// SQLite takes a bare column of a query with one max() from the row holding the max: the last event's balance_after.
// A hold, a release and an expiry move no points; a capture takes them as a use does.
const sql = `WITH log AS (
    SELECT user_id, max(version), balance_after,
      sum(CASE WHEN type IN ('CHARGE', 'REFUND') THEN amount WHEN type IN ('USE', 'CAPTURE') THEN -amount ELSE 0 END) AS amounts
    FROM events GROUP BY user_id)
  SELECT coalesce(log.user_id, b.user_id) AS userId, coalesce(b.point, 0) AS row,
    coalesce(log.balance_after, 0) AS lastEvent, coalesce(log.amounts, 0) AS amounts
  FROM log FULL JOIN balances b ON b.user_id = log.user_id
  WHERE coalesce(b.point, 0) IS NOT coalesce(log.balance_after, 0)
  ORDER BY userId`

/**
 * The users whose balances row (schema step 8) and last event disagree, read in one pass over the log. Asked once,
 * before step 9 drops the table, so the step never changes a balance the service was answering without saying so.
 */
export const compareBalances = (db: Database): BalanceDisagreement[] => db.prepare<[], BalanceDisagreement>(sql).all()
