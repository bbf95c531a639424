import type { Server } from 'node:http'
import type { PointStore } from './events/store'
import type { Lifecycle } from './http/lifecycle'

export interface ShutdownOptions {
  readonly server: Server
  readonly lifecycle: Lifecycle
  readonly store: PointStore
  /** How long accepted requests may take to finish before their connections are cut. */
  readonly timeoutMs: number
}

/** Resolves true when `work` settles within `ms`, false when the time runs out first. */
const within = async (ms: number, work: Promise<unknown>): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([work.then(() => true), late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Drains, then stops: readiness fails and new API requests are refused; the
 * listener closes; every request in hand is finished and answered; then the
 * store closes. Rejects, after closing the store all the same, if the
 * requests outlast `timeoutMs` and had to be cut off.
 */
export async function shutDown({ server, lifecycle, store, timeoutMs }: ShutdownOptions): Promise<void> {
  lifecycle.drain()
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  const inTime = await within(timeoutMs, Promise.all([closed, lifecycle.settled()]))
  if (!inTime) server.closeAllConnections()
  await store.close()
  if (!inTime) throw new Error(`requests were still running after ${timeoutMs} ms and were cut off`)
}
