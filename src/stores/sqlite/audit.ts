import type { Database } from 'better-sqlite3'
import type { UserId } from '../../events/model'
import type { LogEntry, ProjectionRow } from '../../projections/audit'
import type { AuditSource, DuplicateKey } from '../../projections/audit-run'
import { signedEntry } from '../sql/rows'
import type { Catalogue } from './catalogue'

/**
 * What an audit reads from the file. Rows come as arrays, a page at a time, and skip the codecs:
 * the audit checks every value itself, and must stream fast.
 */
export class SqliteAudit implements AuditSource {
  constructor(
    private readonly db: Database,
    private readonly sql: Catalogue,
    private readonly clock: () => number,
  ) {}

  *scanEvents(userId?: UserId): Generator<LogEntry[]> {
    for (let after = 0; ; ) {
      const rows = this.sql.scanEvents(userId, after)
      if (rows.length === 0) return
      yield rows.map((row) => signedEntry(...row))
      after = rows[rows.length - 1]![0]
    }
  }

  *scanProjections(userId?: UserId): Generator<ProjectionRow[]> {
    yield* chunks(this.sql.scanBalances(userId), ([userId, point, version]) => ({ userId, point, version }))
  }

  /** The table's key forbids duplicates; the audit asks anyway, in case the schema was changed by hand. */
  duplicateKeys(): DuplicateKey[] {
    return this.sql.duplicateKeys()
  }

  /** Replaces the whole projection in one transaction. */
  rebuild(states: ReadonlyArray<{ userId: UserId; balance: number; version: number }>): Promise<void> {
    const now = this.clock()
    this.db.transaction(() => {
      this.sql.clearBalances()
      for (const { userId, balance, version } of states) this.sql.upsertBalance(userId, { balance, version }, now)
    }).immediate()
    return Promise.resolve()
  }
}

/** Groups a synchronous row iterator into arrays, so an async consumer pays per chunk, not per row. */
function* chunks<R, A>(rows: Iterable<R>, toEntry: (row: R) => A, size = 4096): Generator<A[]> {
  let chunk: A[] = []
  for (const row of rows) {
    chunk.push(toEntry(row))
    if (chunk.length === size) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}
