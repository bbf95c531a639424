import Sqlite, { type Database } from 'better-sqlite3'
import { migrate } from './schema'

export interface SqliteOpenOptions {
  /** How long a write waits for another connection's lock before failing; it blocks the event loop meanwhile. */
  readonly busyTimeoutMillis?: number
}

/** Opens (creating if needed) a database file in WAL mode with full fsync, at the latest schema. */
export function openDatabase(path: string, options: SqliteOpenOptions = {}): Database {
  const db = new Sqlite(path, { timeout: options.busyTimeoutMillis ?? 1_000 })
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    migrate(db)
    return db
  } catch (error) {
    db.close()
    throw error
  }
}
