import type { Database } from 'better-sqlite3'
import type { UserId } from '../../events/model'
import type { HoldsRow, LogEntry, ProjectionRow, ReplayedState } from '../../projections/audit'
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

  *scanHolds(userId?: UserId): Generator<HoldsRow[]> {
    yield* chunks(this.sql.scanHolds(userId), ([userId, holdId, amount, expiresAt, placedAt]) => ({ userId, holdId, amount, expiresAt, placedAt }))
  }

  /** Replaces the projection and the holds table, every user's rows or one user's, in one transaction. */
  rebuild(states: readonly ReplayedState[], userId?: UserId): Promise<void> {
    const now = this.clock()
    this.db.transaction(() => {
      this.sql.clearBalances(userId)
      this.sql.clearHolds(userId)
      for (const { userId: user, balance, version, holds } of states) {
        this.sql.upsertBalance(user, { balance, version }, now)
        for (const hold of holds) this.sql.insertHold(user, hold)
      }
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
