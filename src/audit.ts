import * as E from 'fp-ts/Either'
import { parseArgs } from 'node:util'
import { DecimalIntFromString } from './codecs'
import { readConfig, type StoreConfig } from './config'
import { UserId } from './events/model'
import { openStore } from './open-store'
import { runAudit, type AuditReport } from './projections/audit-run'
import type { BalanceDisagreement } from './stores/sqlite/schema'

const usage = 'usage: npm run audit -- [--user ID] [--json] [--rebuild]'

/** Rewritten from the log by --rebuild: the balances and the holds table, those of them the store keeps. */
const rebuiltKinds: ReadonlySet<string> = new Set(['PROJECTION_MISMATCH', 'HOLD_ROW_MISMATCH'])

/** With --rebuild, a projection or holds-table mismatch has been repaired; anything wrong in the log itself has not. */
const unresolved = (report: AuditReport) => report.findings.filter((finding) => !(report.rebuilt && rebuiltKinds.has(finding.kind)))

function printSummary(report: AuditReport): void {
  const tables = report.compared.length === 0 ? 'nothing' : report.compared.join(', ')
  const rows: Array<[string, string]> = [
    ['users', String(report.users)],
    ['events', String(report.events)],
    ['seconds', report.seconds.toFixed(3)],
    ['events/s', String(report.eventsPerSecond)],
    ['findings', String(report.findings.length)],
    // A store that reads balances from the log keeps no projection: saying one was checked or rebuilt would mislead.
    ['compared with log', tables],
    ['rebuilt', report.rebuilt ? tables : 'no'],
  ]
  for (const [name, value] of rows) console.log(`${name.padEnd(20)}${value}`)
  for (const finding of report.findings) console.log(`  ${JSON.stringify(finding)}`)
}

/** An audit reads the whole log and may rebuild the projection and the holds table in one transaction: no request-sized time limit. */
const withoutStatementTimeout = (store: StoreConfig): StoreConfig =>
  store.kind === 'postgres' ? { ...store, statementTimeoutMs: 0 } : store

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { user: { type: 'string' }, json: { type: 'boolean' }, rebuild: { type: 'boolean' } },
    strict: true,
  })
  const user = values.user === undefined ? E.right(undefined) : DecimalIntFromString.pipe(UserId).decode(values.user)
  if (E.isLeft(user)) {
    console.error(`--user must be a positive integer\n${usage}`)
    return 2
  }
  const userId = user.right
  const config = readConfig()
  if (E.isLeft(config)) {
    console.error(config.left)
    return 2
  }
  // Told by the schema step that drops SQLite's balances table: each balance the rebuild took from the log.
  const say = values.json === true ? console.error : console.log
  const adoptLogBalances = (adopted: readonly BalanceDisagreement[]) => {
    for (const { userId: id, lastEvent, row } of adopted) {
      const taken = lastEvent === null ? 'balance 0, as the log has no events' : `balance ${lastEvent} from the log`
      say(`user ${id}: ${taken}; ${row === null ? 'there was no balances row' : `the balances row said ${row}`}`)
    }
  }
  const store = await openStore(withoutStatementTimeout(config.right.store), values.rebuild === true ? { adoptLogBalances } : {})
  try {
    const report = await runAudit(store, config.right.limits, { userId, rebuild: values.rebuild === true })()
    if (E.isLeft(report)) {
      console.error(`the store failed during the audit: ${String(report.left.cause)}`)
      return 3
    }
    if (values.json === true) console.log(JSON.stringify(report.right))
    else printSummary(report.right)
    return unresolved(report.right).length === 0 ? 0 : 1
  } finally {
    await store.close()
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    // The usage only where the command line was at fault; a store refusing to open is not a typing mistake.
    const misused = typeof (error as { code?: unknown }).code === 'string' && (error as { code: string }).code.startsWith('ERR_PARSE_ARGS')
    console.error(`audit failed: ${error instanceof Error ? error.message : String(error)}${misused ? `\n${usage}` : ''}`)
    process.exitCode = 2
  },
)
