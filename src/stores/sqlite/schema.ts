import type { Database } from 'better-sqlite3'
import type { Migration } from '../sql/rows'

export type { Migration }

/**
 * The schema, one step per version, never edited once released: a change is a
 * new step. `PRAGMA user_version` records the last step applied.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'event log and balance projection',
    sql: `
      CREATE TABLE events (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL CHECK (user_id > 0),
        version     INTEGER NOT NULL CHECK (version > 0),
        type        TEXT    NOT NULL CHECK (type IN ('CHARGE', 'USE')),
        amount      INTEGER NOT NULL CHECK (amount > 0),
        time_millis INTEGER NOT NULL
      );
      -- One event per (user, version), and the index a user's history is read through.
      CREATE UNIQUE INDEX events_by_user_version ON events (user_id, version);

      CREATE TABLE balances (
        user_id       INTEGER PRIMARY KEY,
        point         INTEGER NOT NULL CHECK (point >= 0),
        version       INTEGER NOT NULL CHECK (version > 0),
        update_millis INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'idempotency receipts',
    sql: `
      -- The answer given to each keyed command, written in the same transaction as its events.
      CREATE TABLE receipts (
        key           TEXT    PRIMARY KEY,
        user_id       INTEGER NOT NULL CHECK (user_id > 0),
        fingerprint   TEXT    NOT NULL,
        outcome       TEXT    NOT NULL CHECK (json_valid(outcome)),
        update_millis INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
]

const schemaVersion = (db: Database): number => db.pragma('user_version', { simple: true }) as number

/**
 * Applies every step newer than the file, each in its own write transaction,
 * so a crash leaves the file at a whole step. A file from a newer release is refused.
 */
export function migrate(db: Database, steps: readonly Migration[] = migrations): number {
  const latest = steps.at(-1)?.version ?? 0
  const apply = db.transaction((step: Migration) => {
    // Re-read inside the lock: another process may have applied it meanwhile.
    if (schemaVersion(db) >= step.version) return
    db.exec(step.sql)
    db.pragma(`user_version = ${step.version}`)
  })
  const found = schemaVersion(db)
  if (found > latest) throw new Error(`the database has schema version ${found}; this release knows up to ${latest}`)
  for (const step of steps) {
    if (step.version > found) apply.immediate(step)
  }
  return schemaVersion(db)
}
