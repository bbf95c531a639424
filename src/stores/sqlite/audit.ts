import type { Database } from 'better-sqlite3'
import type { UserId } from '../../events/model'
import type { HoldsRow, LogEntry, ReplayedState } from '../../projections/audit'
import type { AuditSource, DuplicateKey } from '../../projections/audit-run'
import { signedEntry } from '../sql/rows'
import type { Catalogue } from './catalogue'

/**
 * What an audit reads from the file: the log, the receipts' keys and the holds table. There is no balance projection
 * to compare: a balance is the `balance_after` of the user's last event, which the audit checks event by event.
 * Rows come as arrays, a page at a time, and skip the codecs: the audit checks every value itself, and must stream fast.
 */
export class SqliteAudit implements AuditSource {
  constructor(
    private readonly db: Database,
    private readonly sql: Catalogue,
  ) {}

  *scanEvents(userId?: UserId): Generator<LogEntry[]> {
    for (let after = 0; ; ) {
      const rows = this.sql.scanEvents(userId, after)
      if (rows.length === 0) return
      yield rows.map((row) => signedEntry(...row))
      after = rows[rows.length - 1]![0]
    }
  }

  /** The table's key forbids duplicates; the audit asks anyway, in case the schema was changed by hand. */
  duplicateKeys(): DuplicateKey[] {
    return this.sql.duplicateKeys()
  }

  *scanHolds(userId?: UserId): Generator<HoldsRow[]> {
    yield* chunks(this.sql.scanHolds(userId), ([userId, holdId, amount, expiresAt, placedAt]) => ({ userId, holdId, amount, expiresAt, placedAt }))
  }

  /**
   * Replaces the holds table, every user's rows or one user's, in one transaction. There is no balance projection to
   * rewrite: a balance is read from the user's last event, whose `balance_after` the audit checks as evidence, and
   * that no tool rewrites.
   */
  rebuild(states: readonly ReplayedState[], userId?: UserId): Promise<void> {
    this.db.transaction(() => {
      this.sql.clearHolds(userId)
      for (const { userId: user, holds } of states) {
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
