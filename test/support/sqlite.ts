import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Sqlite from 'better-sqlite3'
import type { PointEvent } from '../../src/events/model'
import { openSqliteStore, type SqliteOpenOptions, type SqliteStore, type SqliteStoreOptions } from '../../src/stores/sqlite'
import { migrate, migrations } from '../../src/stores/sqlite/schema'
import { insertEvents } from '../../src/stores/sqlite/sql/insert-events'
import { amount, userId } from './values'
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

/**
 * A file at schema step 8 whose balances table disagrees with its log: user 1's row says 100 where its one event says
 * 900 (a hand edit, or a fault; the service at step 8 answered 100). User 2 agrees; user 3 has a row of 0 and no
 * events, user 4 events coming to 0 and no row, which step 8 answered as 0 too. User 5 has a row of 70 and no events;
 * user 6 every kind of event, coming to 31, and no row. With `amounts`, user 1's event charged that instead, its
 * balance_after still 900: the log disagrees with itself.
 */
export function writeDisagreeingStepEight(path: string, amounts = 900): void {
  const old = new Sqlite(path)
  try {
    migrate(old, migrations.filter((step) => step.version <= 8))
    const insert = insertEvents(old)
    const event = (user: number, type: PointEvent['type'], n: number): PointEvent => ({ type, userId: userId(user), amount: amount(n), timeMillis: 10 })
    insert(userId(1), 0, { events: [event(1, 'CHARGE', amounts)], projection: { balance: 900, version: 1 }, receipts: [] })
    insert(userId(2), 0, { events: [event(2, 'CHARGE', 40)], projection: { balance: 40, version: 1 }, receipts: [] })
    insert(userId(4), 0, { events: [event(4, 'CHARGE', 10), event(4, 'USE', 10)], projection: { balance: 0, version: 2 }, receipts: [] })
    // Every kind of event, so the check's sum is the decider's; the USE is event id 6, each hold's id its version.
    const far = 9_000_000_000_000
    const moves: PointEvent[] = [
      event(6, 'CHARGE', 50),
      event(6, 'USE', 20),
      { ...event(6, 'REFUND', 5), ref: 6 },
      { ...event(6, 'HOLD', 10), ref: 4, expiresAt: far },
      { ...event(6, 'CAPTURE', 4), ref: 4 },
      { ...event(6, 'HOLD', 3), ref: 6, expiresAt: far },
      { ...event(6, 'RELEASE', 3), ref: 6 },
      { ...event(6, 'HOLD', 2), ref: 8, expiresAt: far },
      { ...event(6, 'EXPIRE', 2), ref: 8 },
    ]
    insert(userId(6), 0, { events: moves, projection: { balance: 31, version: moves.length }, receipts: [] })
    const project = old.prepare('INSERT INTO balances (user_id, point, version, update_millis) VALUES (?, ?, ?, ?)')
    project.run(1, 100, 1, 11)
    project.run(2, 40, 1, 11)
    project.run(3, 0, 1, 11)
    project.run(5, 70, 1, 11)
  } finally {
    old.close()
  }
}
