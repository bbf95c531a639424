import type { StoredEvent, UserId } from '../../../events/model'
import type { HistoryQuery } from '../../../events/store'
import { toStoredEvent } from '../../sql/rows'
import type { Executor } from '../pool'
import { eventColumns } from './event-columns'

/** Exported so a test can check its plan: the user's events in version order through events_by_user_version, no sort. */
export const historySql = `SELECT ${eventColumns}
  FROM events WHERE user_id = $1 AND id > $2 AND time_millis <= $3
    AND type NOT IN ('HOLD', 'RELEASE', 'EXPIRE')
  ORDER BY version LIMIT $4`

/** A user's movements in the query's range, oldest first: holds, releases and expiries move nothing. */
export async function readHistory(db: Executor, userId: UserId, query: HistoryQuery): Promise<StoredEvent[]> {
  const { after = 0, until = Number.MAX_SAFE_INTEGER, limit = null } = query
  const { rows } = await db.query({ name: 'history', text: historySql, values: [userId, after, until, limit] })
  return rows.map(toStoredEvent)
}
