import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** Empties the projection, or one user's row of it, before a rebuild writes it again. */
export const clearBalances = (db: Database) => {
  const all = db.prepare('DELETE FROM balances')
  const one = db.prepare<[UserId]>('DELETE FROM balances WHERE user_id = ?')
  return (userId?: UserId): void => {
    if (userId === undefined) all.run()
    else one.run(userId)
  }
}
