import type { Database } from 'better-sqlite3'
import type { PointEvent, UserId } from '../../../events/model'

/** Appends a user's events after `expectedVersion`, numbering them on from it. */
export const insertEvents = (db: Database) => {
  const statement = db.prepare('INSERT INTO events (user_id, version, type, amount, time_millis) VALUES (?, ?, ?, ?, ?)')
  return (userId: UserId, expectedVersion: number, events: readonly PointEvent[]): void =>
    events.forEach((event, i) => statement.run(userId, expectedVersion + i + 1, event.type, event.amount, event.timeMillis))
}
