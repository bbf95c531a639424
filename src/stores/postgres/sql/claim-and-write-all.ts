import type { UserId } from '../../../events/model'
import { balanceBefore, balancesAfter } from '../../sql/balance-after'
import type { AppendJob } from '../../sql/rows'
import type { Executor } from '../pool'
import { feedTx } from './feed-tx'

/**
 * `claim-and-write.ts` for many users in one statement, one round trip for a whole batch: each job's projection
 * row is moved from its expected version to the new one, or inserted for a new user, and its events are appended
 * only if it was claimed. A job whose user moved on (its version, or its balance, is not the one the job was
 * decided on) is left out alone and the others are written. A row another transaction holds locked (another
 * instance writing the user) is waited for, then matches nothing if that transaction moved it. Rows are locked in
 * user order, so two instances' batches never deadlock. Each argument is one column as an array, one entry a job (`$1`–`$5`) or an event
 * (`$7`–): a new event column is one more array.
 * The jobs must be of distinct users, each with at least one event. Answers the users whose jobs were claimed.
 */
export async function claimAndWriteAll(db: Executor, jobs: readonly AppendJob[], now: number): Promise<Set<UserId>> {
  const events = jobs.flatMap((job) => {
    const after = balancesAfter(job.plan)
    return job.plan.events.map((event, i) => ({ userId: job.userId, n: i + 1, event, balance: after[i]! }))
  })
  const { rows } = await db.query<{ user_id: UserId }>({
    // Named, so each connection plans it once: its text is the same whatever the batch's size.
    name: 'claim-and-write-all',
    text: `WITH job AS (
         SELECT * FROM unnest($1::bigint[], $2::integer[], $3::bigint[], $4::integer[], $5::bigint[]) AS j(user_id, expected, prior, version, point)
       ),
       locked AS (
         SELECT b.user_id FROM balances b JOIN job j ON b.user_id = j.user_id AND b.version = j.expected AND b.point = j.prior
         ORDER BY b.user_id FOR UPDATE OF b
       ),
       updated AS (
         UPDATE balances b SET point = j.point, version = j.version, update_millis = $6
         FROM locked l JOIN job j ON j.user_id = l.user_id
         WHERE b.user_id = l.user_id AND b.version = j.expected AND b.point = j.prior
         RETURNING b.user_id
       ),
       inserted AS (
         INSERT INTO balances (user_id, point, version, update_millis)
         SELECT user_id, point, version, $6 FROM job WHERE expected = 0 ORDER BY user_id
         ON CONFLICT (user_id) DO NOTHING
         RETURNING user_id
       ),
       claimed AS (SELECT user_id FROM updated UNION ALL SELECT user_id FROM inserted),
       appended AS (
         INSERT INTO events (user_id, version, type, amount, time_millis, balance_after, ref, expires_millis, tx)
         SELECT e.user_id, j.expected + e.n, e.type, e.amount,
           greatest(max(e.time) OVER (PARTITION BY e.user_id ORDER BY e.n), p.time_millis),
           e.balance, e.ref, e.expires, ${feedTx('p.tx')}
         FROM unnest($7::bigint[], $8::integer[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[])
           AS e(user_id, n, type, amount, time, balance, ref, expires)
         JOIN job j ON j.user_id = e.user_id
         -- The user's event before the batch: one lookup gives its time and its feed transaction.
         LEFT JOIN events p ON p.user_id = j.user_id AND p.version = j.expected
         WHERE e.user_id IN (SELECT user_id FROM claimed)
       )
       SELECT user_id FROM claimed`,
    values: [
      jobs.map((job) => job.userId),
      jobs.map((job) => job.expectedVersion),
      jobs.map((job) => balanceBefore(job.plan)),
      jobs.map((job) => job.plan.projection.version),
      jobs.map((job) => job.plan.projection.balance),
      now,
      events.map((e) => e.userId),
      events.map((e) => e.n),
      events.map((e) => e.event.type),
      events.map((e) => e.event.amount),
      events.map((e) => e.event.timeMillis),
      events.map((e) => e.balance),
      events.map((e) => e.event.ref ?? null),
      events.map((e) => e.event.expiresAt ?? null),
    ],
  })
  return new Set(rows.map((row) => row.user_id))
}
