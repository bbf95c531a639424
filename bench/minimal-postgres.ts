import pg from 'pg'
import type { Amount, UserId } from '../src/events/model'
import type { Commit } from '../src/stores/sqlite'

interface Waiting {
  readonly userId: UserId
  readonly amount: Amount
  readonly answer: (point: number) => void
  readonly fail: (error: Error) => void
}

/**
 * The least a durable event log shared by several processes can write on PostgreSQL: one table, one row per
 * event keyed by (user, version), and one multi-row `unnest` statement (its own transaction, one WAL flush) in
 * flight for every charge that came while the one before was out. A row whose version another process took
 * first is refused by the key; its user's version and balance are read again and its charge goes in the next
 * statement. No projection, no history or feed index, no receipts, and no check that a user's rows after a
 * refused one are refused too (they go in on a stale balance: a lost update no ledger may make), all of which
 * only flatters it: it bounds from above a shared log on pg here that commits this way, one statement in flight.
 */
export class MinimalPgLog {
  private readonly pool: pg.Pool
  private readonly state = new Map<UserId, { version: number; balance: number }>()
  private pending: Waiting[] = []
  private inFlight = false
  private readonly ready: Promise<void>

  constructor(url: string, private readonly onCommit: (commit: Commit) => void) {
    this.pool = new pg.Pool({ connectionString: url, max: 2 })
    this.ready = this.pool
      .query(
        'CREATE TABLE IF NOT EXISTS minimal_log (user_id bigint NOT NULL, version int NOT NULL, amount bigint NOT NULL, ' +
          'balance_after bigint NOT NULL, time_millis bigint NOT NULL, PRIMARY KEY (user_id, version))',
      )
      .then(
        () => undefined,
        // Two processes create it at once; the one that loses the race finds it made.
        (error: Error) =>
          this.pool.query('SELECT 1 FROM minimal_log LIMIT 0').then(
            () => undefined,
            () => {
              throw error
            },
          ),
      )
  }

  charge(userId: UserId, amount: Amount): Promise<number> {
    return new Promise((answer, fail) => {
      this.pending.push({ userId, amount, answer, fail })
      if (!this.inFlight) void this.flush()
    })
  }

  private async flush(): Promise<void> {
    this.inFlight = true
    while (this.pending.length > 0) {
      // In user order, as the product's store takes its locks, so two processes' statements never deadlock on a key.
      const batch = this.pending.sort((a, b) => a.userId - b.userId)
      this.pending = []
      const started = performance.now()
      const now = Date.now()
      // Kept apart until the commit, so a failed statement leaves the users' versions as the table has them.
      const written = new Map<UserId, { version: number; balance: number }>()
      const rows = batch.map(({ userId, amount }) => {
        const before = written.get(userId) ?? this.state.get(userId) ?? { version: 0, balance: 0 }
        const after = { version: before.version + 1, balance: before.balance + amount }
        written.set(userId, after)
        return { userId, amount, ...after }
      })
      try {
        await this.ready
        // One row back whatever the batch's size: null when every row went in, else the keys that did.
        const inserted = await this.pool.query<{ accepted: string[] | null }>(
          `WITH ins AS (
             INSERT INTO minimal_log SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[])
             ON CONFLICT DO NOTHING RETURNING user_id, version)
           SELECT CASE WHEN count(*) = $6 THEN NULL ELSE array_agg(user_id || ':' || version) END AS accepted FROM ins`,
          [rows.map((r) => r.userId), rows.map((r) => r.version), rows.map((r) => r.amount), rows.map((r) => r.balance), rows.map(() => now), rows.length],
        )
        this.onCommit({ appends: batch.length, millis: performance.now() - started })
        const [answer] = inserted.rows
        if (answer === undefined) throw new Error('the insert gave no answer')
        const accepted = answer.accepted === null ? undefined : new Set(answer.accepted)
        const refused: Waiting[] = []
        batch.forEach((waiting, i) => {
          const row = rows[i]!
          if (accepted === undefined || accepted.has(`${row.userId}:${row.version}`)) {
            this.state.set(row.userId, { version: row.version, balance: row.balance })
            waiting.answer(row.balance)
          } else refused.push(waiting)
        })
        if (refused.length > 0) await this.reload(refused)
      } catch (error) {
        batch.forEach(({ fail }) => fail(error as Error))
      }
    }
    this.inFlight = false
  }

  /** Another process wrote these users: their state is read again, and their charges go in the next statement. */
  private async reload(refused: readonly Waiting[]): Promise<void> {
    const users = [...new Set(refused.map((w) => w.userId))]
    const latest = await this.pool.query<{ user_id: string; version: number; balance_after: string }>(
      `SELECT DISTINCT ON (user_id) user_id, version, balance_after FROM minimal_log WHERE user_id = ANY($1::bigint[])
       ORDER BY user_id, version DESC`,
      [users],
    )
    for (const userId of users) this.state.delete(userId)
    for (const row of latest.rows) this.state.set(Number(row.user_id) as UserId, { version: row.version, balance: Number(row.balance_after) })
    this.pending.unshift(...refused)
  }
}
