import type { References } from '../../../events/decider'
import type { UserId } from '../../../events/model'
import type { Named } from '../../../events/store'
import { toReferences } from '../../sql/rows'
import type { Executor } from '../pool'

/** The user's USE events among the named ones with the sum of their refunds, and how the named holds that ended did. */
export async function readReferences(db: Executor, userId: UserId, { useIds, holdIds }: Named): Promise<References> {
  const uses =
    useIds.length === 0
      ? []
      : (
          await db.query({
            name: 'uses',
            text: `SELECT u.id, u.amount,
                 (SELECT coalesce(sum(r.amount), 0) FROM events r WHERE r.user_id = u.user_id AND r.ref = u.id AND r.type = 'REFUND')::bigint AS refunded
               FROM events u WHERE u.user_id = $1 AND u.id = ANY($2::bigint[]) AND u.type = 'USE'`,
            values: [userId, useIds],
          })
        ).rows
  const endings =
    holdIds.length === 0
      ? []
      : (
          await db.query({
            name: 'endings',
            text: `SELECT ref AS "holdId", type FROM events
               WHERE user_id = $1 AND ref = ANY($2::bigint[]) AND type IN ('CAPTURE', 'RELEASE', 'EXPIRE')`,
            values: [userId, holdIds],
          })
        ).rows
  return toReferences(uses, endings)
}
