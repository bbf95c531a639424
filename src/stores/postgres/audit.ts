import type { Pool } from 'pg'
import type { UserId } from '../../events/model'
import type { HoldsRow, LogEntry, ProjectionRow, ReplayedState } from '../../projections/audit'
import type { AuditSource, DuplicateKey } from '../../projections/audit-run'
import { transaction } from './pool'
import { duplicateKeys } from './sql/duplicate-keys'
import { replaceBalances } from './sql/replace-balances'
import { replaceHolds } from './sql/replace-holds'
import { scanBalances } from './sql/scan-balances'
import { scanEvents } from './sql/scan-events'
import { scanHolds } from './sql/scan-holds'

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

  async *scanHolds(userId?: UserId): AsyncGenerator<HoldsRow[]> {
    for (let after = { userId: 0, holdId: 0 }; ; ) {
      const rows = await scanHolds(this.pool, userId, after.userId, after.holdId)
      if (rows.length === 0) return
      yield rows
      after = rows[rows.length - 1]!
    }
  }

  /** Replaces the projection and the holds table, every user's rows or one user's, in one transaction. */
  rebuild(states: readonly ReplayedState[], userId?: UserId): Promise<void> {
    return transaction(this.pool, async (client) => {
      await replaceBalances(client, states, this.clock(), userId)
      await replaceHolds(client, states, userId)
    })
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
