import * as E from 'fp-ts/Either'
import { comparePositions, type FeedEntry, type FeedPosition } from '../events/feed'
import type { StoreFailure } from '../events/store'
import type { FeedReads } from './feed-reads'

/** Told each new batch of the feed, in order, each batch once. */
export type TailListener = (batch: readonly FeedEntry[]) => void

export interface TailOptions {
  /** How often to look for events committed elsewhere (another instance), while anyone listens. */
  readonly pollMillis: number
  /** Most events read per query. */
  readonly pageLimit: number
  /** A read that failed; the next poll tries again. */
  readonly onFault?: (failure: StoreFailure) => void
  /**
   * How long a wake waits for more commits before it reads (default 5 ms): under load every append wakes the tail,
   * and one read for the commits of a few milliseconds costs the writers far less than one read for each.
   */
  readonly wakeMillis?: number
  /**
   * The least time between the starts of two reads that wakes make (default 50 ms): while commits keep coming, the
   * tail reads once per spacing, for all of them, instead of once per commit or two. Each read costs a query, and
   * a write on every stream and a read in every client, whatever it carries; so this bounds what the tail adds to
   * the writers, and a commit is read at most this long (plus a read in progress) after it. After a quiet spell a
   * commit is still read `wakeMillis` after it.
   */
  readonly spacingMillis?: number
}

export const defaultWakeMillis = 5
export const defaultSpacingMillis = 50

/**
 * The live end of the change feed, shared by every stream of this instance: one reader follows the store and
 * hands each new batch to every listener, so the store is read once per batch, not once per stream. It reads when
 * woken (a commit on this instance) and every `pollMillis` (commits elsewhere), and only while someone listens.
 */
export class FeedTail {
  private readonly listeners = new Set<TailListener>()
  /** The last position read and handed on; undefined while no one listens. */
  private head: FeedPosition | undefined
  /** Moved whenever the tail goes idle, so a read begun before that is dropped. */
  private generation = 0
  private reading = false
  private again = false
  private timer: NodeJS.Timeout | undefined
  /** Whether `timer` is a wake's short wait rather than the poll. */
  private woken = false
  /** A commit while a read was running: once it ends, wait and read again. */
  private wokenWhileReading = false
  /** When the last read began, for the spacing of the next. */
  private readAt = -Infinity

  constructor(
    private readonly read: FeedReads['feedPage'],
    private readonly options: TailOptions,
  ) {}

  /**
   * Adds a listener that has handed on everything up to `at`. It joins only if the tail has read no further than
   * `at` (or no one listens yet, and the tail starts there): the listener then gets every later batch, and drops
   * what it already has. Otherwise it must read from the store up to the tail first, and try again.
   */
  join(at: FeedPosition, listener: TailListener): boolean {
    if (this.head !== undefined && comparePositions(at, this.head) < 0) return false
    this.head ??= at
    this.listeners.add(listener)
    this.schedule()
    return true
  }

  leave(listener: TailListener): void {
    this.listeners.delete(listener)
    if (this.listeners.size > 0) return
    this.head = undefined
    this.generation += 1
    clearTimeout(this.timer)
    this.timer = undefined
    this.woken = false
  }

  /** Something committed here: read now rather than at the next poll. */
  wake(): void {
    if (this.listeners.size === 0 || this.woken) return
    if (this.reading) {
      this.wokenWhileReading = true
      return
    }
    clearTimeout(this.timer)
    this.woken = true
    const wait = Math.max(this.options.wakeMillis ?? defaultWakeMillis, this.readAt + (this.options.spacingMillis ?? defaultSpacingMillis) - performance.now())
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.woken = false
      void this.pull()
    }, wait)
    this.timer.unref()
  }

  /** How many listen, for metrics and tests. */
  get size(): number {
    return this.listeners.size
  }

  private schedule(): void {
    if (this.timer !== undefined || this.reading || this.listeners.size === 0) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.pull()
    }, this.options.pollMillis)
    // A tail waiting for its next poll does not keep the process alive.
    this.timer.unref()
  }

  private async pull(): Promise<void> {
    if (this.reading) {
      this.again = true
      return
    }
    this.reading = true
    try {
      do {
        this.again = false
        const generation = this.generation
        const after = this.head
        if (after === undefined) return
        this.readAt = performance.now()
        const page = await this.read({ after, limit: this.options.pageLimit })()
        if (generation !== this.generation) return
        if (E.isLeft(page)) {
          this.options.onFault?.(page.left)
          return
        }
        const { entries, next } = page.right
        if (entries.length > 0) {
          this.head = next
          for (const listener of [...this.listeners]) listener(entries)
        }
        // A full page: more are waiting.
        if (entries.length === this.options.pageLimit) this.again = true
      } while (this.again && this.listeners.size > 0)
    } finally {
      this.reading = false
      if (this.wokenWhileReading) {
        this.wokenWhileReading = false
        this.wake()
      }
      this.schedule()
    }
  }
}
