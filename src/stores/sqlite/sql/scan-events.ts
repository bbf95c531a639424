import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'
import { scanPage } from '../../sql/rows'

/** id, user, version, signed amount, balance after, time, and why the row is not a valid event (null if it is): arrays, so a long scan stays cheap. */
export type ScannedEvent = [number, UserId, number, number, number, number, string | null]

// A CHECK forbids these, but a file edited by hand (`ignore_check_constraints`), or a REAL amount, gets past it.
const invalid = `CASE WHEN type NOT IN ('CHARGE', 'USE') THEN 'type ' || quote(type)
  WHEN typeof(amount) <> 'integer' OR amount <= 0 THEN 'amount ' || quote(amount) END`

/** One page of the log after event `after`, every user's or one user's, in id order. */
export const scanEvents = (db: Database) => {
  const columns = `SELECT id, user_id, version, iif(type = 'CHARGE', amount, -amount), balance_after, time_millis, ${invalid} FROM events`
  const all = db.prepare<[number], ScannedEvent>(`${columns} WHERE id > ? ORDER BY id LIMIT ${scanPage}`).raw()
  const one = db.prepare<[UserId, number], ScannedEvent>(`${columns} WHERE user_id = ? AND id > ? ORDER BY id LIMIT ${scanPage}`).raw()
  return (userId: UserId | undefined, after: number): ScannedEvent[] => (userId === undefined ? all.all(after) : one.all(userId, after))
}
