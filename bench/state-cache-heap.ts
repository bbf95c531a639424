import { parseArgs } from 'node:util'
import { parseConfig } from '../src/config'
import type { Amount, UserId } from '../src/events/model'
import { createLedger } from '../src/projections/ledger'
import { NullStore } from './null-store'
import { formatTable } from './table'

/**
 * `npm run bench:heap`: the heap the command side keeps once 100,000, then 1,000,000 distinct users have been
 * charged once each and gone idle, with the state cache at its configured size (POINT_STATE_CACHE_SIZE, default
 * 50,000; `--cache-size` overrides it). The store remembers nothing, so what is left is the service's own memory.
 * Issue 15, goal 5: the heap at 1,000,000 within 10% of the heap at 100,000.
 */
const { values } = parseArgs({ options: { 'cache-size': { type: 'string' }, users: { type: 'string', default: '1000000' } } })

const config = parseConfig(values['cache-size'] === undefined ? {} : { POINT_STATE_CACHE_SIZE: values['cache-size'] })
if (config._tag === 'Left') throw new Error(config.left)
const { limits, stateCacheSize } = config.right
const ledger = createLedger({ store: new NullStore(true), limits, stateCacheSize })
const queue = ledger.commands as typeof ledger.commands & { readonly cachedStates: number }
const progress = (line: string) => process.stderr.write(`${line}\n`)

async function settledHeapMb(): Promise<number> {
  const collect = globalThis.gc
  if (collect === undefined) throw new Error('run node with --expose-gc (npm run bench:heap does)')
  for (let i = 0; i < 3; i += 1) {
    collect()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed / 2 ** 20
}

/** Charges users `from` to `to` once each, a slice at a time so that the answers in flight stay few. */
async function chargeRange(from: number, to: number): Promise<void> {
  const slice = 10_000
  for (let first = from; first <= to; first += slice) {
    const last = Math.min(to, first + slice - 1)
    const answers = []
    for (let user = first; user <= last; user += 1) answers.push(ledger.charge(user as UserId, 1 as Amount)())
    for (const answer of await Promise.all(answers)) if (answer._tag === 'Left') throw new Error(`a charge failed: ${JSON.stringify(answer.left)}`)
  }
}

async function main(): Promise<void> {
  const checkpoints = [100_000, Number(values.users)]
  const rows: string[][] = []
  // Warm up on users outside the measured range, then start counting from a settled heap.
  await chargeRange(10_000_001, 10_010_000)
  const startMb = await settledHeapMb()
  let charged = 0
  let at100k = 0
  for (const users of checkpoints) {
    await chargeRange(charged + 1, users)
    charged = users
    const heapMb = await settledHeapMb()
    if (users === checkpoints[0]) at100k = heapMb
    progress(`${users} users charged: ${heapMb.toFixed(1)} MB`)
    rows.push([users.toLocaleString('en'), heapMb.toFixed(1), (heapMb - startMb).toFixed(1), queue.cachedStates.toLocaleString('en'), String(queue.activeWriters), `${((heapMb / at100k - 1) * 100).toFixed(1)}%`])
  }
  console.log(`state cache size ${stateCacheSize.toLocaleString('en')}; heap before the measured users ${startMb.toFixed(1)} MB`)
  console.log(formatTable(['users charged once, then idle', 'heap MB', 'grown MB', 'cached states', 'active writers', 'vs 100,000'], rows))
  const growth = rows.length > 1 ? Number(rows[rows.length - 1]![5]!.replace('%', '')) : 0
  console.log(`goal 5 (heap at ${Number(values.users).toLocaleString('en')} within 10% of heap at 100,000): ${Math.abs(growth) <= 10 ? 'met' : 'NOT met'}`)
}

void main()
