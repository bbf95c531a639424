import type { Database } from 'better-sqlite3'
import type { Migration } from '../sql/rows'
import { schemaSteps } from '../sql/schema-steps'
import { compareBalances, type BalanceDisagreement } from './sql/compare-balances'

export type { Migration, BalanceDisagreement }

/** The steps as SQLite runs them; `PRAGMA user_version` records the last one applied. */
export const migrations: readonly Migration[] = schemaSteps.map(({ version, name, sqlite }) => ({ version, name, sql: sqlite }))

export interface MigrateOptions {
  /**
   * Step 9 drops the balances table and answers each balance from the user's last event. Where the two disagree the
   * file is refused, unless this is given (by `npm run audit -- --rebuild`): then each such user whose events'
   * amounts come to their last event's balance takes that balance, as a rebuild of the table would have set it, and
   * is reported here. A user whose log disagrees with itself is refused either way: no tool rewrites the log.
   */
  readonly adoptLogBalances?: (adopted: readonly BalanceDisagreement[]) => void
}

/** The step that drops the balances table, whose rows SQLite's balances were read from until then. */
const balancesDropped = 9

const schemaVersion = (db: Database): number => db.pragma('user_version', { simple: true }) as number

/**
 * Applies every step newer than the file, each in its own write transaction,
 * so a crash leaves the file at a whole step. A file from a newer release is refused.
 */
export function migrate(db: Database, steps: readonly Migration[] = migrations, options: MigrateOptions = {}): number {
  const latest = steps.at(-1)?.version ?? 0
  const apply = db.transaction((step: Migration): readonly BalanceDisagreement[] => {
    // Re-read inside the lock: another process may have applied it meanwhile.
    if (schemaVersion(db) >= step.version) return []
    const adopted = step.version === balancesDropped ? checkBalances(db, options) : []
    db.exec(step.sql)
    db.pragma(`user_version = ${step.version}`)
    return adopted
  })
  const found = schemaVersion(db)
  if (found > latest) throw new Error(`the database has schema version ${found}; this release knows up to ${latest}`)
  for (const step of steps) {
    if (step.version <= found) continue
    const adopted = apply.immediate(step)
    // Told once the step has committed, so what is reported is what the file now answers.
    if (adopted.length > 0) options.adoptLogBalances?.(adopted)
  }
  return schemaVersion(db)
}

const listed = (users: readonly BalanceDisagreement[], describe: (user: BalanceDisagreement) => string): string => {
  const shown = users.slice(0, 5).map(describe).join('; ')
  return users.length > 5 ? `${shown}; and ${users.length - 5} more` : shown
}

/**
 * The users whose balance dropping the table changes, with the operator's word; throws, rolling the step back,
 * without it, or where the log would not explain the balance it then answers.
 */
function checkBalances(db: Database, { adoptLogBalances }: MigrateOptions): readonly BalanceDisagreement[] {
  const disagreeing = compared(db)
  if (disagreeing.length === 0) return disagreeing
  const selfContradicting = disagreeing.filter((user) => !user.logAgrees)
  const restore = 'No tool rewrites the log: restore the file from a backup taken before the fault, or run the previous release'
  const contradictions = `${selfContradicting.length} user(s) whose events disagree with their last event's balance or hold a row that is not a valid event: ${listed(
    selfContradicting,
    (u) => `user ${u.userId}: amounts come to ${u.amounts}, last event says ${shown(u.lastEvent)}, balances row says ${shown(u.row)}`,
  )}`
  if (selfContradicting.length > 0 && adoptLogBalances !== undefined) {
    throw new Error(`schema step ${balancesDropped} cannot take a balance from the log of ${contradictions}. ${restore}`)
  }
  if (adoptLogBalances === undefined) {
    const repair =
      selfContradicting.length === 0
        ? 'The log is the record: `npm run audit -- --rebuild` checks it and takes each such balance from it'
        : `\`npm run audit -- --rebuild\` cannot repair this either, as the log itself is at fault for ${contradictions}. ${restore}`
    throw new Error(
      `schema step ${balancesDropped} would change the balance of ${disagreeing.length} user(s), whose balances row disagrees with ` +
        `their last event: ${listed(disagreeing, (u) => `user ${u.userId}: row ${shown(u.row)}, last event ${shown(u.lastEvent)}`)}. ${repair}; the file is left at step 8`,
    )
  }
  return disagreeing
}

const shown = (value: number | null): string => (value === null ? 'none' : String(value))

/** The comparison, or why it could not be made: a sum past SQLite's 64-bit integers is a log no replay explains. */
function compared(db: Database): BalanceDisagreement[] {
  try {
    return compareBalances(db)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(`schema step ${balancesDropped} could not compare the balances table with the log (${reason}); the file is left at step 8`, { cause: error })
  }
}
