import type { Pool, PoolClient } from 'pg'
import type { Migration } from '../sql/rows'
import { schemaSteps } from '../sql/schema-steps'

export type PgMigration = Migration

/** The steps as PostgreSQL runs them; `schema_migrations` records each one applied. */
export const pgMigrations: readonly PgMigration[] = schemaSteps.map(({ version, name, postgres }) => ({ version, name, sql: postgres }))

/** Any constant will do, as long as nothing else in the database takes the same advisory lock. */
const migrationLock = 7_340_021

/**
 * Brings the database to the latest step. Instances started together queue on an
 * advisory lock, so exactly one applies each step; each step is its own transaction.
 * A database from a newer release is refused.
 */
export async function migratePostgres(pool: Pool, steps: readonly PgMigration[] = pgMigrations): Promise<number> {
  const client = await pool.connect()
  // An error between statements is emitted on a checked-out client; the next statement throws it.
  const ignore = () => undefined
  client.on('error', ignore)
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLock])
    try {
      return await applySteps(client, steps)
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [migrationLock])
    }
  } finally {
    client.off('error', ignore)
    client.release(true)
  }
}

async function applySteps(client: PoolClient, steps: readonly PgMigration[]): Promise<number> {
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`)
  const found = await currentVersion(client)
  const latest = steps.at(-1)?.version ?? 0
  if (found > latest) throw new Error(`the database has schema version ${found}; this release knows up to ${latest}`)
  for (const step of steps.filter((s) => s.version > found)) {
    await client.query('BEGIN')
    try {
      await client.query(step.sql)
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [step.version, step.name])
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK')
      throw error
    }
  }
  return currentVersion(client)
}

async function currentVersion(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations')
  return rows[0]?.version ?? 0
}
