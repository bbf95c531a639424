import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'
import type { ReplayedHold } from '../../../projections/audit'

/** Writes one hold the log leaves unresolved into the holds table, as a rebuild does; the triggers do it otherwise. */
export const insertHold = (db: Database) => {
  const statement = db.prepare('INSERT INTO holds (user_id, hold_id, amount, expires_millis, placed_millis) VALUES (?, ?, ?, ?, ?)')
  return (userId: UserId, { holdId, amount, expiresAt, placedAt }: ReplayedHold): void => {
    statement.run(userId, holdId, amount, expiresAt, placedAt)
  }
}
