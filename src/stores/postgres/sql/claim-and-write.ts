import { balanceBefore, balancesAfter } from '../../sql/balance-after'
import type { AppendJob } from '../../sql/rows'
import type { Executor } from '../pool'
import { feedTx } from './feed-tx'

/**
 * Moves the projection row from the expected version to the new one and appends the events, in one
 * statement: the events are inserted only if the row was claimed. The update locks the row until commit,
 * so a rival instance's claim waits, then sees the new version and matches nothing. Each event carries the
 * balance it leaves, and is stamped no earlier than the user's event before it, whichever instance's clock
 * wrote that: a user's times never go backwards, so the last event at or before a moment is the fold up to it.
 * Its feed transaction is likewise never below the one of the user's event before it (`feed-tx.ts`).
 */
export async function claimAndWrite(db: Executor, { userId, expectedVersion, plan }: AppendJob, now: number): Promise<boolean> {
  const { events, projection } = plan
  const claim =
    expectedVersion === 0
      ? `INSERT INTO balances (user_id, point, version, update_millis) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id) DO NOTHING RETURNING 1`
      : `UPDATE balances SET point = $2, version = $3, update_millis = $4
           WHERE user_id = $1 AND version = $5 AND point = $12 RETURNING 1`
  const { rows } = await db.query<{ claimed: number }>({
    // Named, so each connection plans this statement once.
    name: expectedVersion === 0 ? 'claim-new-and-write' : 'claim-and-write',
    text: `WITH claimed AS (${claim}),
       prior AS (SELECT time_millis, tx FROM events WHERE user_id = $1 AND version = $5),
       appended AS (
         INSERT INTO events (user_id, version, type, amount, time_millis, balance_after, ref, expires_millis, tx)
         SELECT $1, $5 + e.n, e.type, e.amount,
           greatest(max(e.time) OVER (ORDER BY e.n), (SELECT time_millis FROM prior)),
           e.balance, e.ref, e.expires, ${feedTx('(SELECT tx FROM prior)')}
         FROM unnest($6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[])
           WITH ORDINALITY AS e(type, amount, time, balance, ref, expires, n)
         WHERE EXISTS (SELECT 1 FROM claimed)
       )
       SELECT count(*)::integer AS claimed FROM claimed`,
    values: [
      userId,
      projection.balance,
      projection.version,
      now,
      expectedVersion,
      events.map((e) => e.type),
      events.map((e) => e.amount),
      events.map((e) => e.timeMillis),
      balancesAfter(plan),
      events.map((e) => e.ref ?? null),
      events.map((e) => e.expiresAt ?? null),
      // Only the update checks the balance the plan was decided on; a new user's row has none to check.
      ...(expectedVersion === 0 ? [] : [balanceBefore(plan)]),
    ],
  })
  return rows[0]?.claimed === 1
}
