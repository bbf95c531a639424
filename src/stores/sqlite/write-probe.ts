import Sqlite, { type Database } from 'better-sqlite3'

/**
 * A commit that changes no data, for readiness after a failed one: it takes the write lock, checks the file may
 * still grow (`max_page_count`), rewrites the header's `application_id` with its own value, which puts a page
 * in the log, and commits with its fsync. A read-only file, a held lock or a full disk fail it as they fail appends.
 */
export function writeProbe(db: Database): void {
  db.transaction(() => {
    const pages = db.pragma('page_count', { simple: true }) as number
    const free = db.pragma('freelist_count', { simple: true }) as number
    if (free === 0 && pages >= (db.pragma('max_page_count', { simple: true }) as number)) {
      throw new Sqlite.SqliteError('database or disk is full: the file is at its max_page_count', 'SQLITE_FULL')
    }
    const id = db.pragma('application_id', { simple: true }) as number
    db.pragma(`application_id = ${id}`)
  }).immediate()
}
