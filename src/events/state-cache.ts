import type { UserId } from './model'

/**
 * The states writers last decided, for users whose writer went idle, so that a user's next command need not read
 * the store first. Safe with other writers on the same store because every append checks the version it started
 * from: an entry gone stale costs one conflict and a fresh read. Bounded, least recently used out first; a user
 * with a writer is not in it (the writer holds the state), so writers and cache together hold each user once.
 */
export class StateCache<S> {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  private readonly entries = new Map<UserId, S>()

  constructor(private readonly capacity: number) {}

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
