import type { Database } from 'better-sqlite3'

/** Empties the projection, before a rebuild writes it again. */
export const clearBalances = (db: Database) => {
  const statement = db.prepare('DELETE FROM balances')
  return (): void => {
    statement.run()
  }
}
