import type { UserId } from './model'

/** The stale share averages over roughly this many of the latest tested entries. */
const staleWindow = 64

/**
 * At or past this share of stale entries, the cache's states are read again first. Two PostgreSQL instances
 * sharing users find about half of them stale, and there reading first did 30% more charges a second than deciding
 * on them; one instance finds none stale, and there the cache did 9% more than reading first. Where the break-even
 * lies between depends on the store; a quarter is well clear of both ends.
 */
const doubtfulShare = 0.25

/**
 * The states writers last decided, for users whose writer went idle, so that a user's next command need not read
 * the store first. Safe with other writers on the same store because every append checks the version it started
 * from: an entry gone stale costs one conflict and a fresh read (while the cache is in doubt, only the read).
 * Bounded, least recently used out first; a user with a writer is not in it (the writer holds the state), so
 * writers and cache together hold each user once.
 */
export class StateCache<S> {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  private readonly entries = new Map<UserId, S>()
  /** The share of taken entries found stale lately, each weighing 1/`staleWindow`, the older ones less and less. */
  private staleShare = 0

  constructor(private readonly capacity: number) {}

  /**
   * Whether a taken entry may be decided on without a read. Not while many entries have lately been found stale, as
   * they are when instances share users: each would cost a refused append, dearer than the read it spares
   * (docs/performance.md, "Two instances: cached states read first while many are stale"). The store is then read
   * first, and the read, compared with the entry, still tells whether it was stale, so the cache is trusted again once
   * entries stop being stale.
   */
  get trusted(): boolean {
    return this.staleShare < doubtfulShare
  }

  /** Told, at most once for each entry taken (not when the store failed), whether the store had moved past it. */
  tested(stale: boolean): void {
    this.staleShare += ((stale ? 1 : 0) - this.staleShare) / staleWindow
  }

  /** Hands the entry over to a writer that starts for this user, leaving it out of the cache while the writer works. */
  take(userId: UserId): S | undefined {
    const state = this.entries.get(userId)
    if (state !== undefined) this.entries.delete(userId)
    return state
  }

  /** Keeps a writer's last state when it goes idle, dropping the least recently used entry past the capacity. */
  keep(userId: UserId, state: S): void {
    if (this.capacity === 0) return
    this.entries.delete(userId)
    this.entries.set(userId, state)
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
  }

  /** Forgets a user whose state is unknown, e.g. after an append whose outcome the store could not tell. */
  forget(userId: UserId): void {
    this.entries.delete(userId)
  }

  get size(): number {
    return this.entries.size
  }
}
