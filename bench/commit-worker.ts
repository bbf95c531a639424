import { parentPort, workerData } from 'node:worker_threads'
import type { Amount, UserId } from '../src/events/model'
import { openSqliteStore } from '../src/stores/sqlite'

/** One charge the floor's event loop hands over: the user's version before it, and the balance it leads to. */
export interface CommitJob {
  readonly userId: UserId
  readonly version: number
  readonly balance: number
  readonly amount: Amount
  readonly timeMillis: number
}

/** What the worker answers for a message of jobs: each job's commit time, or its fault's tag. */
export interface CommitAnswer {
  readonly id: number
  readonly results: ReadonlyArray<number | string>
  readonly commits: number
  readonly appends: number
  readonly commitMillis: number
}

/**
 * For `bench/server.ts floor-worker` only: the SQLite store's group commit on a thread of its own, so that the
 * fsync it waits for does not stop the event loop that serves HTTP. The jobs of one message, and of all the
 * messages that arrive in one turn, share one transaction as they would on the main thread.
 */
const { path } = workerData as { path: string }
const spent = { commits: 0, appends: 0, commitMillis: 0 }
const store = openSqliteStore(path, {
  groupCommit: true,
  onCommit: ({ appends, millis }) => {
    spent.commits++
    spent.appends += appends
    spent.commitMillis += millis
  },
})

parentPort?.on('message', ({ id, jobs }: { id: number; jobs: CommitJob[] }) => {
  void Promise.all(
    jobs.map(async ({ userId, version, balance, amount, timeMillis }) => {
      const events = [{ type: 'CHARGE' as const, userId, amount, timeMillis }]
      const written = await store.append(userId, version, { events, projection: { balance, version: version + 1 }, receipts: [] })()
      return written._tag === 'Right' ? written.right.updateMillis : written.left._tag
    }),
  ).then((results) => parentPort?.postMessage({ id, results, ...spent } satisfies CommitAnswer))
})
