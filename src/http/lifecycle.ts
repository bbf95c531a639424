import type { Context, Next } from 'koa'
import { problem, sendProblem } from './problem'

export type Phase = 'starting' | 'ready' | 'draining'

/**
 * Where the service is in its life, and how many requests it has in hand.
 * Readiness reads the phase; a shutdown drains, then waits until settled.
 */
export class Lifecycle {
  private current: Phase = 'starting'
  private inFlight = 0
  private waiting: (() => void)[] = []
  private readonly onDrainListeners = new Set<() => void>()

  get phase(): Phase {
    return this.current
  }

  ready(): void {
    if (this.current === 'starting') this.current = 'ready'
  }

  drain(): void {
    this.current = 'draining'
    for (const listener of [...this.onDrainListeners]) listener()
  }

  /**
   * Calls `listener` when draining starts (at once if it has): a response that would otherwise never end, such as
   * a stream, ends itself on it, so the drain does not wait for it. Answers how to stop listening.
   */
  onDrain(listener: () => void): () => void {
    if (this.current === 'draining') {
      listener()
      return () => undefined
    }
    this.onDrainListeners.add(listener)
    return () => this.onDrainListeners.delete(listener)
  }

  /** Resolves once no request is being served. */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  /** Counts requests; while draining, closes each connection after its answer. */
  readonly middleware = async (ctx: Context, next: Next): Promise<void> => {
    if (this.current === 'draining') ctx.set('Connection', 'close')
    this.inFlight += 1
    try {
      await next()
    } finally {
      if (this.current === 'draining') ctx.set('Connection', 'close')
      this.inFlight -= 1
      if (this.inFlight === 0) this.release()
    }
  }

  /**
   * Registered with each API route, ahead of its other guards: while draining, new work is refused before it starts.
   * Not async: it hands on `next`'s promise rather than awaiting it in one more of its own, and koa-compose makes
   * a throw here a rejection as it would be from an async function.
   */
  readonly refuseWhileDraining = (ctx: Context, next: Next): Promise<void> => {
    if (this.current !== 'draining') return next()
    sendProblem(ctx, problem('SHUTTING_DOWN', 'the service is draining; nothing was applied, retry elsewhere'))
    return Promise.resolve()
  }

  private release(): void {
    const waiting = this.waiting
    this.waiting = []
    waiting.forEach((resolve) => resolve())
  }
}
