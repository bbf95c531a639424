import type { UserId } from '../../../events/model'
import type { BalanceWithHolds } from '../../../events/store'
import { toBalanceWithHolds } from '../../sql/rows'
import type { Executor } from '../pool'
import { balanceAtSql } from './read-balance-at'
import { holdsAtSql, holdsOfBalanceJson } from './read-holds'

/**
 * Under READ COMMITTED each statement has its own snapshot, so the holds come in the same statement as the balance,
 * as one JSON array: two statements, on one connection or two, would let a commit land between them. A user
 * without a balance row has no events, so no holds either.
 */
export const balanceWithHoldsSql = `SELECT user_id AS id, point, update_millis AS "updateMillis", ${holdsOfBalanceJson} AS holds
  FROM balances b WHERE user_id = $1`

/**
 * The same as of `at`, from the log: an event stamped at or before `at` can commit after the read starts (a batch
 * in flight, another instance's clock), so two statements could count it in one and not the other. Without an
 * event at or before `at` there is no row, and no hold either.
 */
export const balanceAtWithHoldsSql = `SELECT b.id, b.point, b."updateMillis",
    (SELECT json_agg(row_to_json(h) ORDER BY h."holdId") FROM (${holdsAtSql}) h) AS holds
  FROM (${balanceAtSql}) b`

/**
 * A user's projected balance and active holds; a user never seen has 0 as of `now`. With `at`, the balance after
 * the user's last event at or before `at` and the holds active then; 0 as of `at` before any.
 */
export async function readBalanceWithHolds(db: Executor, userId: UserId, now: () => number, at?: number): Promise<BalanceWithHolds> {
  if (at === undefined) {
    const { rows } = await db.query({ name: 'balance-with-holds', text: balanceWithHoldsSql, values: [userId] })
    return toBalanceWithHolds(rows[0], { id: userId, point: 0, updateMillis: now() }, { table: 'balances', key: `user_id ${userId}` })
  }
  const { rows } = await db.query({ name: 'balance-at-with-holds', text: balanceAtWithHoldsSql, values: [userId, at] })
  return toBalanceWithHolds(rows[0], { id: userId, point: 0, updateMillis: at }, { table: 'events', key: `user_id ${userId}, time_millis <= ${at}` })
}
