import Database from 'better-sqlite3'
import type { Amount, UserId } from '../src/events/model'
import type { Commit } from '../src/stores/sqlite'

/**
 * The least a durable event log can write on this stack: one table, one row per event clustered on (user, version)
 * so an event dirties one B-tree page and no index, WAL with `synchronous=FULL`, and one transaction for every
 * charge that arrived in the same event-loop turn. No projection table, no time index, no global position, no
 * idempotency receipts: none of what the product reads its history, `?at=`, feed and replays through. It bounds
 * from above a durable ledger on better-sqlite3 that commits this way (on the event loop, one batch a turn), so a
 * goal this misses in every run cannot be met by a better schema either. Each event keeps the balance it leaves, as
 * the product's do, so a balance is read as one row: the user's last event, read backwards through the key.
 */
export class MinimalLog {
  private readonly db: Database.Database
  private readonly insert: Database.Statement
  private readonly last: Database.Statement<[UserId], { point: number; updateMillis: number }>
  private readonly balances = new Map<UserId, { balance: number; version: number }>()
  private pending: { userId: UserId; amount: Amount; answer: (point: number) => void; fail: (error: Error) => void }[] = []

  constructor(path: string, private readonly onCommit: (commit: Commit) => void) {
    this.db = new Database(path)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS events (user_id INTEGER NOT NULL, version INTEGER NOT NULL, amount INTEGER NOT NULL, ' +
        'time_millis INTEGER NOT NULL, balance_after INTEGER NOT NULL, PRIMARY KEY (user_id, version)) WITHOUT ROWID',
    )
    this.insert = this.db.prepare('INSERT INTO events (user_id, version, amount, time_millis, balance_after) VALUES (?, ?, ?, ?, ?)')
    this.last = this.db.prepare(
      'SELECT balance_after AS point, time_millis AS updateMillis FROM events WHERE user_id = ? ORDER BY version DESC LIMIT 1',
    )
  }

  /** A user's balance and the time of its last event, read from the file, as `GET /point/{id}` reads the product's. */
  balance(userId: UserId): { point: number; updateMillis: number } {
    return this.last.get(userId) ?? { point: 0, updateMillis: 0 }
  }

  charge(userId: UserId, amount: Amount): Promise<number> {
    return new Promise((answer, fail) => {
      if (this.pending.length === 0) setImmediate(() => this.commit())
      this.pending.push({ userId, amount, answer, fail })
    })
  }

  private commit(): void {
    const batch = this.pending
    this.pending = []
    const started = performance.now()
    const timeMillis = Date.now()
    const points: number[] = []
    // Kept apart until the commit, so a failed one leaves the users' versions as the file has them.
    const written = new Map<UserId, { balance: number; version: number }>()
    try {
      this.db.transaction(() => {
        for (const { userId, amount } of batch) {
          const before = written.get(userId) ?? this.balances.get(userId) ?? { balance: 0, version: 0 }
          const after = { balance: before.balance + amount, version: before.version + 1 }
          this.insert.run(userId, after.version, amount, timeMillis, after.balance)
          written.set(userId, after)
          points.push(after.balance)
        }
      })()
    } catch (error) {
      batch.forEach(({ fail }) => fail(error as Error))
      return
    }
    for (const [userId, after] of written) this.balances.set(userId, after)
    this.onCommit({ appends: batch.length, millis: performance.now() - started })
    batch.forEach(({ answer }, i) => answer(points[i] ?? NaN))
  }
}
