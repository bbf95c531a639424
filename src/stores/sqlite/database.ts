import Sqlite, { type Database } from 'better-sqlite3'
import { migrate, type MigrateOptions } from './schema'

export interface SqliteOpenOptions extends MigrateOptions {
  /** How long a write waits for another connection's lock before failing; it blocks the event loop meanwhile. */
  readonly busyTimeoutMillis?: number
}

/** Opens (creating if needed) a database file in WAL mode with full fsync, at the latest schema. */
export function openDatabase(path: string, options: SqliteOpenOptions = {}): Database {
  const db = new Sqlite(path, { timeout: options.busyTimeoutMillis ?? 1_000 })
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    migrate(db, undefined, options)
    return db
  } catch (error) {
    db.close()
    throw error
  }
}
