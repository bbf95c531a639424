import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'

/** Empties the holds table, or one user's rows of it, before a rebuild writes them again. */
export const clearHolds = (db: Database) => {
  const all = db.prepare('DELETE FROM holds')
  const one = db.prepare<[UserId]>('DELETE FROM holds WHERE user_id = ?')
  return (userId?: UserId): void => {
    if (userId === undefined) all.run()
    else one.run(userId)
  }
}
