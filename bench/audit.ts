import * as E from 'fp-ts/Either'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAudit } from '../src/projections/audit-run'
import { openDatabase, SqliteStore } from '../src/stores/sqlite'
import { formatTable } from './table'

/**
 * `npm run bench:audit`: replays generated SQLite logs through the audit and
 * compares it with a bare scan of the same rows in the same run, the most any
 * replay of that file could do here. Goal: ≥ 1,000,000 events/s at 1M events.
 */
const sizes = [100_000, 1_000_000]
const users = 10_000
const limits = { maxAmount: 1_000, maxBalance: 10_000_000 }

/** A log of charges and uses spread over `users`, written directly; each event carries the balance it leaves. */
function generate(path: string, events: number): void {
  const db = openDatabase(path)
  const insert = db.prepare('INSERT INTO events (user_id, version, type, amount, time_millis, balance_after) VALUES (?, ?, ?, ?, ?, ?)')
  const balances = new Array<number>(users + 1).fill(0)
  const versions = new Array<number>(users + 1).fill(0)
  db.transaction(() => {
    for (let i = 0; i < events; i++) {
      const user = 1 + (i % users)
      const use = i % 3 === 2 && balances[user]! >= 10
      balances[user]! += use ? -10 : 20
      insert.run(user, ++versions[user]!, use ? 'USE' : 'CHARGE', use ? 10 : 20, 1_700_000_000_000 + i, balances[user])
    }
  })()
  db.close()
}

/** Every row of the log read as plainly as the driver allows, with nothing done to it: the ceiling. */
function bareScan(path: string): number {
  const db = openDatabase(path)
  const started = performance.now()
  let count = 0
  for (const row of db.prepare('SELECT id, user_id, version, type, amount, time_millis FROM events').raw().iterate()) {
    if (row !== undefined) count++
  }
  const seconds = (performance.now() - started) / 1000
  db.close()
  return count / seconds
}

async function auditRate(path: string): Promise<{ rate: number; findings: number; heapMiB: number }> {
  const store = new SqliteStore(openDatabase(path))
  global.gc?.()
  const heapBefore = process.memoryUsage().heapUsed
  let peak = heapBefore
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5)
  const report = await runAudit(store, limits)()
  clearInterval(sampler)
  peak = Math.max(peak, process.memoryUsage().heapUsed)
  await store.close()
  if (E.isLeft(report)) throw new Error('the audit could not read the file')
  return { rate: report.right.eventsPerSecond, findings: report.right.findings.length, heapMiB: (peak - heapBefore) / 2 ** 20 }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'point-ledger-audit-'))
  const rows: string[][] = []
  try {
    for (const events of sizes) {
      const path = join(dir, `log-${events}.db`)
      generate(path, events)
      const scan = bareScan(path)
      const { rate, findings, heapMiB } = await auditRate(path)
      rows.push([
        events.toLocaleString('en'),
        Math.round(scan).toLocaleString('en'),
        Math.round(rate).toLocaleString('en'),
        `${(rate / scan).toFixed(2)}x`,
        heapMiB.toFixed(1),
        String(findings),
      ])
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(`audit replay from SQLite, ${users.toLocaleString('en')} users (node ${process.version})\n`)
  console.log(formatTable(['events', 'bare scan ev/s', 'audit ev/s', 'audit / scan', 'peak heap MiB', 'findings'], rows))
  const million = rows.at(-1)
  console.log(`\ngoal: >= 1,000,000 events/s at 1M events: ${million?.[2] ?? '?'} events/s`)
}

void main()
