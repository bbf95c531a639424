import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'
import { scanPage } from '../../sql/rows'
import { invalidEvent } from './invalid-event'

/**
 * id, user, version, signed amount, balance after, time, why the row is not a valid event (null if it is), then
 * for the newer types only (null for a charge or use) the type, the link, the expiry and a refund's use's amount:
 * arrays, so a long scan stays cheap.
 */
export type ScannedEvent = [number, UserId, number, number, number, number, string | null, string | null, number | null, number | null, number | null]

/** One page of the log after event `after`, every user's or one user's, in id order. */
export const scanEvents = (db: Database) => {
  // The use's amount is looked up for refunds alone: CASE evaluates the subquery only for them.
  const columns = `SELECT id, user_id, version, iif(type = 'CHARGE', amount, -amount), balance_after, time_millis, ${invalidEvent},
    iif(type IN ('CHARGE', 'USE'), NULL, type), ref, expires_millis,
    CASE WHEN type = 'REFUND' THEN (SELECT u.amount FROM events u WHERE u.id = e.ref AND u.user_id = e.user_id AND u.type = 'USE') END
    FROM events e`
  const all = db.prepare<[number], ScannedEvent>(`${columns} WHERE id > ? ORDER BY id LIMIT ${scanPage}`).raw()
  const one = db.prepare<[UserId, number], ScannedEvent>(`${columns} WHERE user_id = ? AND id > ? ORDER BY id LIMIT ${scanPage}`).raw()
  return (userId: UserId | undefined, after: number): ScannedEvent[] => (userId === undefined ? all.all(after) : one.all(userId, after))
}
