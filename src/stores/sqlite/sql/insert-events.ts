import type { Database } from 'better-sqlite3'
import type { UserId } from '../../../events/model'
import type { Plan } from '../../../events/store'
import { balancesAfter } from '../../sql/balance-after'

/**
 * Appends a plan's events after `expectedVersion`, numbering them on from it, each with the balance it leaves.
 * An event is stamped no earlier than the user's event before it, so a user's times never go backwards, even
 * when the clock steps back: the last event at or before a moment is then the fold of all events up to it.
 */
export const insertEvents = (db: Database) => {
  const statement = db.prepare(
    `INSERT INTO events (user_id, version, type, amount, time_millis, balance_after, ref, expires_millis)
     VALUES (@userId, @version, @type, @amount,
       max(@time, coalesce((SELECT time_millis FROM events WHERE user_id = @userId AND version = @version - 1), @time)),
       @balanceAfter, @ref, @expires)`,
  )
  return (userId: UserId, expectedVersion: number, plan: Plan): void => {
    const after = balancesAfter(plan)
    plan.events.forEach((event, i) =>
      statement.run({ userId, version: expectedVersion + i + 1, type: event.type, amount: event.amount, time: event.timeMillis, balanceAfter: after[i], ref: event.ref ?? null, expires: event.expiresAt ?? null }),
    )
  }
}
