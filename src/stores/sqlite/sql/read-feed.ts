import type { Database } from 'better-sqlite3'
import { eventColumns } from './event-columns'

export interface FeedRange {
  readonly after: number
  readonly limit: number
}

/**
 * Events of every user after an id, in id order. SQLite has one writer at a time, which takes ids while it holds
 * the write lock and commits before the next writer starts, so ids become visible in order and none is passed over.
 */
export const readFeed = (db: Database) => {
  const statement = db.prepare<[FeedRange], unknown>(`SELECT ${eventColumns} FROM events WHERE id > @after ORDER BY id LIMIT @limit`)
  return (range: FeedRange): unknown[] => statement.all(range)
}
