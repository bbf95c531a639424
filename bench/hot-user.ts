/**
 * `npm run bench:hot-user`: the group-commit writer against the naive
 * promise-chain queue, both on the given tables with their default delays,
 * measured in the same run. Then the service's own memory after 100,000 users.
 *
 * Options: `--reps n` runs N = 1, 10 and 100 n times each (default 3);
 * `--quick` skips N = 1000 (about 2.5 minutes on its own); `--memory` runs
 * only the memory part. The whole run takes about six minutes.
 */
import os from 'node:os'
import { parseArgs } from 'node:util'
import { PointHistoryTable, UserPointTable } from '../database'
import type { Outcome } from '../src/events/commands'
import { decider } from '../src/events/decider'
import type { Amount, Command, UserId } from '../src/events/model'
import { CommandQueue } from '../src/events/writer'
import { MemoryStore } from '../src/stores/memory'
import { countingStore } from './counting-store'
import { measureMemory, memoryGoal, printMemory } from './hot-user-memory'
import { NaiveQueue } from './naive-queue'
import { formatTable } from './table'

/** The service's default limits; the runs below never reach them. */
const limits = { maxAmount: 1_000_000, maxBalance: 10_000_000 }
const decide = decider(limits)

/** The given history table waits 0–299 ms per insert by default: 149.5 ms on average. */
const MEAN_INSERT_MS = 149.5
/** The naive queue's mean per command on the default tables: a read (0–199 ms), a write and an insert (0–299 ms each). */
const NAIVE_COMMAND_MS = 99.5 + 149.5 + 149.5

// ---------- the two writers under test ----------

interface Subject {
  readonly name: string
  readonly submit: (command: Command) => Promise<Outcome>
  readonly meanBatch: () => number
}

const groupCommit = (): Subject => {
  const { store, meanBatch } = countingStore(new MemoryStore(new UserPointTable(), new PointHistoryTable()))
  const queue = new CommandQueue({ store, decide })
  return { name: 'group commit', submit: (c) => queue.submit(c), meanBatch }
}

const naive = (): Subject => {
  const queue = new NaiveQueue({ points: new UserPointTable(), histories: new PointHistoryTable() }, decide)
  return { name: 'naive queue', submit: (c) => queue.submit(c), meanBatch: () => 1 }
}

// ---------- workloads ----------

const user = (n: number) => n as UserId
const points = (n: number) => n as Amount
const charge = (u: number, amount: number): Command => ({ type: 'Charge', userId: user(u), amount: points(amount) })
const use = (u: number, amount: number): Command => ({ type: 'Use', userId: user(u), amount: points(amount) })

interface Arrival {
  /** Milliseconds after the start. */
  readonly at: number
  readonly command: Command
}

const atOnce = (commands: Command[]): Arrival[] => commands.map((command) => ({ at: 0, command }))

const hotUser = (n: number): Arrival[] => atOnce(Array.from({ length: n }, () => charge(1, 1)))

/** Round after round, one charge to each user. */
const manyUsers = (users: number, each: number): Arrival[] =>
  atOnce(Array.from({ length: users * each }, (_, i) => charge((i % users) + 1, 10)))

/**
 * Charges and uses arriving over `windowMs`, each user's in its own random
 * order of times. Uses never overdraw in arrival order, so neither writer has
 * a reason to refuse one (a refusal would poison the naive queue's chain).
 */
function mixed(users: number, each: number, windowMs: number): Arrival[] {
  const arrivals: Arrival[] = []
  for (let u = 1; u <= users; u += 1) {
    const times = distinctTimes(each, windowMs)
    let balance = 0
    for (const at of times) {
      const spend = balance > 0 && Math.random() < 0.5
      const amount = spend ? 1 + Math.floor(Math.random() * balance) : 1 + Math.floor(Math.random() * 100)
      balance += spend ? -amount : amount
      arrivals.push({ at, command: spend ? use(u, amount) : charge(u, amount) })
    }
  }
  return arrivals.sort((a, b) => a.at - b.at)
}

/** Distinct whole milliseconds, ascending, so timers fire in the intended order. */
function distinctTimes(count: number, windowMs: number): number[] {
  const times = new Set<number>()
  while (times.size < count) times.add(Math.floor(Math.random() * windowMs))
  return [...times].sort((a, b) => a - b)
}

// ---------- running ----------

interface Run {
  readonly wallMs: number
  readonly commands: number
  readonly failed: number
  readonly meanBatch: number
}

async function run(subject: Subject, arrivals: Arrival[]): Promise<Run> {
  const started = performance.now()
  const answers = arrivals.map(({ at, command }) => (at === 0 ? subject.submit(command) : later(at, () => subject.submit(command))))
  const outcomes = await Promise.all(answers)
  return {
    wallMs: performance.now() - started,
    commands: arrivals.length,
    failed: outcomes.filter((o) => o._tag === 'Left').length,
    meanBatch: subject.meanBatch(),
  }
}

const later = <A>(ms: number, f: () => Promise<A>): Promise<A> =>
  new Promise((resolve) => setTimeout(() => resolve(f()), ms))

const progress = (line: string) => process.stderr.write(`${line}\n`)

interface Comparison {
  readonly name: string
  readonly ours: Run
  readonly baseline: Run
  /** How many runs `ours` and `baseline` are the mean of. */
  readonly reps: number
  /** Baseline time over ours, run by run. */
  readonly speedups: number[]
  /** Set when the baseline was scaled from a smaller run instead of measured. */
  readonly estimatedFrom?: string
}

/**
 * Runs the workload on each writer in turn, `reps` times, on fresh tables each
 * time. The tables' delays are random, so one run of a hundred inserts can be
 * several per cent off the mean; the table shows the mean of the runs.
 */
async function compare(name: string, workload: () => Arrival[], reps = 1): Promise<Comparison> {
  const ours: Run[] = []
  const baseline: Run[] = []
  for (let rep = 0; rep < reps; rep += 1) {
    const arrivals = workload()
    ours.push(await run(groupCommit(), arrivals))
    baseline.push(await run(naive(), arrivals))
    progress(`${name}: group commit ${seconds(ours[rep]!.wallMs)} s, naive queue ${seconds(baseline[rep]!.wallMs)} s`)
  }
  const speedups = ours.map((r, i) => baseline[i]!.wallMs / r.wallMs)
  return { name, ours: mean(ours), baseline: mean(baseline), reps, speedups }
}

function mean(runs: Run[]): Run {
  const average = (pick: (r: Run) => number) => runs.reduce((sum, r) => sum + pick(r), 0) / runs.length
  return {
    wallMs: average((r) => r.wallMs),
    commands: average((r) => r.commands),
    failed: average((r) => r.failed),
    meanBatch: average((r) => r.meanBatch),
  }
}

/** The naive queue handles one user's commands strictly one after another, so its time scales with N. */
function estimateBaseline(name: string, from: Comparison, factor: number, ours: Run): Comparison {
  const { baseline } = from
  return {
    name,
    ours,
    baseline: { ...baseline, wallMs: baseline.wallMs * factor, commands: baseline.commands * factor },
    reps: 1,
    speedups: [],
    estimatedFrom: `${factor} × ${from.name}`,
  }
}

// ---------- report ----------

const seconds = (ms: number) => (ms / 1000).toFixed(2)
const rate = (r: Run) => Math.round(r.commands / (r.wallMs / 1000)).toString()
const times = (x: number) => `${x.toFixed(2)}×`

function throughputTable(rows: Comparison[]): string {
  const lines = rows.flatMap(({ name, ours, baseline, reps, estimatedFrom }) => [
    [name, 'group commit', String(reps), String(ours.commands), seconds(ours.wallMs), rate(ours), ours.meanBatch.toFixed(1), String(ours.failed), times(baseline.wallMs / ours.wallMs)],
    [
      name,
      estimatedFrom === undefined ? 'naive queue' : `naive queue (est. ${estimatedFrom})`,
      estimatedFrom === undefined ? String(reps) : '-',
      String(baseline.commands),
      seconds(baseline.wallMs),
      rate(baseline),
      baseline.meanBatch.toFixed(1),
      estimatedFrom === undefined ? String(baseline.failed) : '-',
      times(1),
    ],
  ])
  return formatTable(['case', 'writer', 'runs', 'commands', 'wall s', 'ops/s', 'mean batch', 'failed', 'speedup vs naive'], lines)
}

function limitTable(rows: { n: number; ours: Run }[]): string {
  const lines = rows.map(({ n, ours }) => {
    const limitMs = n * MEAN_INSERT_MS
    return [String(n), seconds(limitMs), seconds(ours.wallMs), times(ours.wallMs / limitMs)]
  })
  return formatTable(['N', 'table limit s (N × 149.5 ms)', 'group commit s', 'group commit / limit'], lines)
}

const verdict = (met: boolean) => (met ? 'met' : 'MISSED')

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      memory: { type: 'boolean', default: false },
      reps: { type: 'string', default: '3' },
    },
  })
  const reps = Number(values.reps)

  const memoryRuns = await measureMemory(limits)
  if (values.memory) return printMemory(memoryRuns)

  const hot: Comparison[] = []
  for (const n of [1, 10, 100]) hot.push(await compare(`hot user N=${n}`, () => hotUser(n), reps))
  const hot100 = hot[hot.length - 1]!
  if (!values.quick) {
    const ours = await run(groupCommit(), hotUser(1000))
    progress(`hot user N=1000: group commit ${seconds(ours.wallMs)} s`)
    hot.push(estimateBaseline('hot user N=1000', hot100, 10, ours))
  }
  const spread = [
    await compare('1000 users × 10 charges', () => manyUsers(1000, 10)),
    await compare('mixed: 200 users × 20 over 2 s', () => mixed(200, 20, 2000)),
  ]

  const largest = hot[hot.length - 1]!
  const largestN = largest.ours.commands
  const limitRatio = largest.ours.wallMs / (largestN * MEAN_INSERT_MS)
  const speedup100 = hot100.baseline.wallMs / hot100.ours.wallMs

  const cpus = os.cpus()
  console.log(
    `\nnode ${process.version} on ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ` +
      `load average ${os.loadavg()[0]?.toFixed(1)}; given tables with default delays\n`,
  )
  console.log(throughputTable([...hot, ...spread]))
  console.log('\nOne hot user against the given table: N inserts in order cannot take less than N × mean insert delay.\n')
  console.log(limitTable(hot.map(({ ours }) => ({ n: ours.commands, ours }))))
  printMemory(memoryRuns)
  console.log('\nGoals')
  console.log(`- hot user N=${largestN}: ${times(limitRatio)} the table limit (goal ≤ 1.10×): ${verdict(limitRatio <= 1.1)}`)
  console.log(
    `- hot user N=100: ${times(speedup100)} faster than the naive queue, mean of ${hot100.reps} runs ` +
      `(each run: ${hot100.speedups.map(times).join(', ')}) (goal ≥ 2.50×): ${verdict(speedup100 >= 2.5)}`,
  )
  console.log(
    `  On average no writer can be more than ${times(NAIVE_COMMAND_MS / MEAN_INSERT_MS)} faster here: ` +
      `a naive command takes ${NAIVE_COMMAND_MS} ms on average, one ordered insert ${MEAN_INSERT_MS} ms.`,
  )
  console.log(memoryGoal(memoryRuns[0]!, verdict))
  if (largest.estimatedFrom !== undefined) {
    console.log(`\nThe naive queue at N=1000 is estimated as ${largest.estimatedFrom}: it runs one user's commands one by one, so its time grows linearly.`)
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
