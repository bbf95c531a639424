/** The memory part of `npm run bench:hot-user`: what the writers themselves keep, over 100,000 users. */
import type { Limits } from '../src/events/decider'
import { decider } from '../src/events/decider'
import type { Amount, Command, UserId } from '../src/events/model'
import { createLedger } from '../src/projections/ledger'
import { NaiveQueue } from './naive-queue'
import { NullStore, nullTables } from './null-store'
import { formatTable } from './table'

const user = (n: number) => n as UserId
const points = (n: number) => n as Amount
const charge = (u: number, amount: number): Command => ({ type: 'Charge', userId: user(u), amount: points(amount) })
const progress = (line: string) => process.stderr.write(`${line}\n`)

export interface MemoryRun {
  readonly name: string
  readonly beforeMb: number
  readonly peakMb: number
  readonly afterMb: number
  readonly writersLeft: number
}

const gc = (): (() => void) => {
  const collect = globalThis.gc
  if (collect === undefined) throw new Error('run node with --expose-gc (npm run bench:hot-user does)')
  return () => collect()
}

async function settledHeap(): Promise<number> {
  const collect = gc()
  for (let i = 0; i < 3; i += 1) {
    collect()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed / 2 ** 20
}

interface Charger {
  readonly charge: (userId: number) => Promise<unknown>
  readonly writers: () => number
}

async function memory(name: string, charger: Charger, users: number): Promise<MemoryRun> {
  // Warm up first, so what is measured is the users, not the first-call JIT and module state.
  await chargeAll(charger, 1, 1000)
  const beforeMb = await settledHeap()
  const peakMb = await chargeAll(charger, 1_000_001, users)
  const afterMb = await settledHeap()
  progress(`memory: ${name} ${beforeMb.toFixed(1)} → ${afterMb.toFixed(1)} MB`)
  return { name, beforeMb, peakMb, afterMb, writersLeft: charger.writers() }
}

/**
 * Charges `count` users from `first` on, all at once, and gives the live heap
 * while they are in flight. The answers are dropped here, so that only what
 * the writer itself keeps is left when this returns.
 */
async function chargeAll(charger: Charger, first: number, count: number): Promise<number> {
  const answers = Array.from({ length: count }, (_, i) => charger.charge(first + i))
  // One turn of the event loop, so every command has reached its first table call.
  await new Promise((resolve) => setImmediate(resolve))
  gc()()
  const inFlightMb = process.memoryUsage().heapUsed / 2 ** 20
  await Promise.all(answers)
  return inFlightMb
}

/** The service's writer and the naive queue, each after charging 100,000 distinct users once. */
export async function measureMemory(limits: Limits): Promise<MemoryRun[]> {
  const serviceCharger = (): Charger => {
    const ledger = createLedger({ store: new NullStore(), limits })
    return { charge: (u) => ledger.charge(user(u), points(1))(), writers: () => ledger.commands.activeWriters }
  }
  const naiveCharger = (): Charger => {
    const queue = new NaiveQueue(nullTables, decider(limits))
    return { charge: (u) => queue.submit(charge(u, 1)), writers: () => queue.activeWriters }
  }
  return [
    await memory('group commit (service, null store)', serviceCharger(), 100_000),
    await memory('naive queue (null tables)', naiveCharger(), 100_000),
  ]
}

function memoryTable(rows: MemoryRun[]): string {
  const lines = rows.map((r) => [
    r.name,
    r.beforeMb.toFixed(1),
    r.peakMb.toFixed(1),
    r.afterMb.toFixed(1),
    `${(((r.afterMb - r.beforeMb) / r.beforeMb) * 100).toFixed(1)} %`,
    String(r.writersLeft),
  ])
  return formatTable(['writer', 'heap before MB', 'heap in flight MB', 'heap after, idle MB', 'after vs before', 'writers left'], lines)
}

export function printMemory(runs: MemoryRun[]): void {
  console.log('\nMemory: 100,000 distinct users charged once each, then idle; heap after forced GC.')
  console.log("The stores keep nothing (bench/null-store.ts), so this is the writer's own memory, not data.\n")
  console.log(memoryTable(runs))
}

export function memoryGoal(service: MemoryRun, verdict: (met: boolean) => string): string {
  const growth = (service.afterMb - service.beforeMb) / service.beforeMb
  return `- heap after 100,000 users: ${(growth * 100).toFixed(1)} % from the start (goal within 10 %): ${verdict(Math.abs(growth) <= 0.1)}`
}
