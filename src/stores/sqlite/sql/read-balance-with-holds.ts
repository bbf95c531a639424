import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'
import { balanceAtSql } from './read-balance-at'
import { holdColumns, holdsAtSql } from './read-holds'
import { lastEventSql } from './read-last-event'

const holdsArray = `json_group_array(json_object('holdId', h.holdId, 'amount', h.amount, 'expiresAt', h.expiresAt, 'placedAt', h.placedAt) ORDER BY h.holdId)`

/**
 * The balance and its active holds as one JSON array, in one statement and so one snapshot. The reads of one turn
 * share a transaction, but the holds, asked for once the balance had answered, came a turn later, after the commits
 * of the turn between. A user without events has no holds either.
 */
export const balanceWithHoldsSql = `SELECT b.id, b.point, b.updateMillis,
    (SELECT ${holdsArray} FROM (SELECT ${holdColumns} FROM holds WHERE user_id = @userId) h) AS holds
  FROM (${lastEventSql}) b`

/**
 * The same as of `at`, from the log: an event stamped at or before `at` can commit after the read starts (a batch
 * in flight, another process), so two statements could count it in one and not the other. Without an event at or
 * before `at` there is no row, and no hold either.
 */
export const balanceAtWithHoldsSql = `SELECT b.id, b.point, b.updateMillis, (SELECT ${holdsArray} FROM (${holdsAtSql}) h) AS holds
  FROM (${balanceAtSql}) b`

/** The balance row with a `holds` column, a JSON array; with `at`, as of then. Undefined for a user with no event yet. */
export const readBalanceWithHolds = (db: Database) => {
  const now = db.prepare<{ userId: UserId }, unknown>(balanceWithHoldsSql)
  const asOf = db.prepare<{ userId: UserId; at: number }, unknown>(balanceAtWithHoldsSql)
  return (userId: UserId, at?: number): unknown => (at === undefined ? now.get({ userId }) : asOf.get({ userId, at }))
}
