import type { Database } from 'better-sqlite3'
import type { PointState } from '../../../events/decider'
import type { UserId } from '../../../events/model'

/** Sets a user's projection row to `state`, creating it if needed. */
export const upsertBalance = (db: Database) => {
  const statement = db.prepare(
    `INSERT INTO balances (user_id, point, version, update_millis) VALUES (?, ?, ?, ?)
     ON CONFLICT (user_id) DO UPDATE SET
       point = excluded.point, version = excluded.version, update_millis = excluded.update_millis`,
  )
  return (userId: UserId, state: PointState, updateMillis: number): void => {
    statement.run(userId, state.balance, state.version, updateMillis)
  }
}
