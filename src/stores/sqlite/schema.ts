import type { Database } from 'better-sqlite3'
import type { Migration } from '../sql/rows'
import { schemaSteps } from '../sql/schema-steps'

export type { Migration }

/** The steps as SQLite runs them; `PRAGMA user_version` records the last one applied. */
export const migrations: readonly Migration[] = schemaSteps.map(({ version, name, sqlite }) => ({ version, name, sql: sqlite }))

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
