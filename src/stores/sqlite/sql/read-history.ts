import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'
import { eventColumns } from './event-columns'

export interface HistoryRange {
  readonly userId: UserId
  readonly after: number
  readonly until: number
  /** -1: no limit. */
  readonly limit: number
}

/** A user's movements in a range, oldest first: holds, releases and expiries move nothing and are listed as holds. */
export const readHistory = (db: Database) => {
  const statement = db.prepare<[HistoryRange], unknown>(
    `SELECT ${eventColumns}
     FROM events WHERE user_id = @userId AND id > @after AND time_millis <= @until
       AND type NOT IN ('HOLD', 'RELEASE', 'EXPIRE')
     ORDER BY version LIMIT @limit`,
  )
  return (range: HistoryRange): unknown[] => statement.all(range)
}
