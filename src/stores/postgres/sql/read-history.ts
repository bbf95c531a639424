import type { StoredEvent, UserId } from '../../../events/model'
import type { HistoryQuery } from '../../../events/store'
import { toStoredEvent } from '../../sql/rows'
import type { Executor } from '../pool'
import { eventColumns } from './event-columns'

/** A user's movements in the query's range, oldest first: holds, releases and expiries move nothing. */
export async function readHistory(db: Executor, userId: UserId, query: HistoryQuery): Promise<StoredEvent[]> {
  const { after = 0, until = Number.MAX_SAFE_INTEGER, limit = null } = query
  const { rows } = await db.query({
    name: 'history',
    text: `SELECT ${eventColumns}
       FROM events WHERE user_id = $1 AND id > $2 AND time_millis <= $3
         AND type NOT IN ('HOLD', 'RELEASE', 'EXPIRE')
       ORDER BY version LIMIT $4`,
    values: [userId, after, until, limit],
  })
  return rows.map(toStoredEvent)
}
