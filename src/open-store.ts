import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { StoreConfig } from './config'
import type { PointStore } from './events/store'
import type { AuditSource } from './projections/audit-run'
import { MemoryStore } from './stores/memory'
import { openPostgresStore } from './stores/postgres'
import { openSqliteStore } from './stores/sqlite'
import type { MigrateOptions } from './stores/sqlite/schema'

/** Every store the service can run on serves commands and reads, and can be audited. */
export type OpenedStore = PointStore & AuditSource

/** What every store is opened with, whichever it is. */
export interface OpenOptions extends MigrateOptions {
  /** How long an idempotency receipt answers a retry. */
  readonly receiptRetentionMillis?: number
}

/** Opens the configured store, ready for use: a PostgreSQL schema is brought up to date first. */
export async function openStore(config: StoreConfig, options: OpenOptions = {}): Promise<OpenedStore> {
  switch (config.kind) {
    case 'memory':
      return new MemoryStore(undefined, undefined, options)
    case 'sqlite':
      mkdirSync(dirname(config.path), { recursive: true })
      return openSqliteStore(config.path, options)
    case 'postgres':
      return openPostgresStore(config.url, {
        receiptRetentionMillis: options.receiptRetentionMillis,
        poolSize: config.poolSize,
        statementTimeoutMillis: config.statementTimeoutMs,
      }).catch((error: unknown) => {
        throw new Error(`PostgreSQL is not reachable or its schema could not be applied: ${String(error)}`)
      })
  }
}
