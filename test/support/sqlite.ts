import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqliteStore, type SqliteOpenOptions, type SqliteStore, type SqliteStoreOptions } from '../../src/stores/sqlite'
import type { StoreFixture } from '../stores/contract'

export interface TempDir {
  readonly path: string
  readonly remove: () => Promise<void>
}

/** A fresh folder under the system's temp dir, for one test's database files. */
export async function tempDir(): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), 'point-ledger-'))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

/** A new, empty SQLite store on a temporary file (group commit on), removed on dispose. */
export async function sqliteFixture(
  options: SqliteStoreOptions & SqliteOpenOptions = {},
): Promise<StoreFixture & { store: SqliteStore }> {
  const dir = await tempDir()
  const store = openSqliteStore(join(dir.path, 'points.db'), options)
  return {
    store,
    dispose: async () => {
      await store.close()
      await dir.remove()
    },
  }
}
