import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** The holds table's columns as a hold is read. */
export const holdColumns = 'hold_id AS holdId, amount, expires_millis AS expiresAt, placed_millis AS placedAt'

/**
 * The holds a user had active at `at`: placed at or before it and not resolved by then, from the log. Both reads go
 * through `events_by_ref`, which holds only the events that name another (holds, their ends, refunds), so a user with
 * a long history of charges and uses costs no more than one without: through `events_by_user_time` this read was a
 * walk over every event up to `at`, on the `?at=` read that is otherwise one indexed row.
 */
export const holdsAtSql = `SELECT h.ref AS holdId, h.amount, h.expires_millis AS expiresAt, h.time_millis AS placedAt
  FROM events h INDEXED BY events_by_ref
  WHERE h.user_id = @userId AND h.ref IS NOT NULL AND h.type = 'HOLD' AND h.time_millis <= @at
    AND NOT EXISTS (SELECT 1 FROM events r INDEXED BY events_by_ref WHERE r.user_id = @userId AND r.ref = h.ref
      AND r.type IN ('CAPTURE', 'RELEASE', 'EXPIRE') AND r.time_millis <= @at)
  ORDER BY h.ref`

/** The user's holds no event has resolved yet, from the table the triggers keep; with `at`, those active then. */
export const readHolds = (db: Database) => {
  const active = db.prepare<[UserId], unknown>(`SELECT ${holdColumns} FROM holds WHERE user_id = ? ORDER BY hold_id`)
  const asOf = db.prepare<{ userId: UserId; at: number }, unknown>(holdsAtSql)
  return (userId: UserId, at?: number): unknown[] => (at === undefined ? active.all(userId) : asOf.all({ userId, at }))
}
