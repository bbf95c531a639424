import type { Pool } from 'pg'
import type { UserId } from '../../events/model'
import type { LogEntry, ProjectionRow } from '../../projections/audit'
import type { AuditSource, DuplicateKey } from '../../projections/audit-run'
import { transaction } from './pool'
import { duplicateKeys } from './sql/duplicate-keys'
import { replaceBalances } from './sql/replace-balances'
import { scanBalances } from './sql/scan-balances'
import { scanEvents } from './sql/scan-events'

/** What an audit reads from the database, a page per query, so a large log streams in flat memory. */
export class PostgresAudit implements AuditSource {
  constructor(
    private readonly pool: Pool,
    private readonly clock: () => number,
  ) {}

  scanEvents(userId?: UserId): AsyncGenerator<LogEntry[]> {
    return pages((after) => scanEvents(this.pool, userId, after), (entry) => entry.id)
  }

  scanProjections(userId?: UserId): AsyncGenerator<ProjectionRow[]> {
    return pages((after) => scanBalances(this.pool, userId, after), (row) => row.userId)
  }

  async *duplicateKeys(): AsyncGenerator<DuplicateKey> {
    yield* await duplicateKeys(this.pool)
  }

  /** Replaces the whole projection in one transaction. */
  rebuild(states: ReadonlyArray<{ userId: UserId; balance: number; version: number }>): Promise<void> {
    return transaction(this.pool, (client) => replaceBalances(client, states, this.clock()))
  }
}

/** Reads page after page, each starting after the last row of the one before, until one comes back empty. */
async function* pages<R>(page: (after: number) => Promise<R[]>, position: (row: R) => number): AsyncGenerator<R[]> {
  for (let after = 0; ; ) {
    const rows = await page(after)
    if (rows.length === 0) return
    yield rows
    after = position(rows[rows.length - 1]!)
  }
}
