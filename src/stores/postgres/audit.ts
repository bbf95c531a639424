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

  async *scanEvents(userId?: UserId): AsyncGenerator<LogEntry[]> {
    for (let after = 0; ; ) {
      const entries = await scanEvents(this.pool, userId, after)
      if (entries.length === 0) return
      yield entries
      after = entries[entries.length - 1]!.id
    }
  }

  async *scanProjections(userId?: UserId): AsyncGenerator<ProjectionRow[]> {
    for (let after = 0; ; ) {
      const rows = await scanBalances(this.pool, userId, after)
      if (rows.length === 0) return
      yield rows
      after = rows[rows.length - 1]!.userId
    }
  }

  async *duplicateKeys(): AsyncGenerator<DuplicateKey> {
    yield* await duplicateKeys(this.pool)
  }

  /** Replaces the whole projection in one transaction. */
  rebuild(states: ReadonlyArray<{ userId: UserId; balance: number; version: number }>): Promise<void> {
    return transaction(this.pool, (client) => replaceBalances(client, states, this.clock()))
  }
}
