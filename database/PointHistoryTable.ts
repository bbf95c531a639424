import { Latency, type TableOptions } from './latency'
import type { PointHistory, TransactionType } from './models'

/**
 * The history table, in memory, every call slow. Ids count up from 1 across
 * all users and are handed out when an insert completes, not when it starts.
 * Reads wait 0–199 ms and inserts 0–299 ms unless other bounds are given.
 */
export class PointHistoryTable {
  private readonly rows: PointHistory[] = []
  private nextId = 1
  private readonly latency: Latency

  constructor(options: TableOptions = {}) {
    this.latency = Latency.from(options, { min: 0, max: 199 }, { min: 0, max: 299 })
  }

  async insert(
    userId: number,
    amount: number,
    type: TransactionType,
    timeMillis: number,
  ): Promise<PointHistory> {
    await this.latency.writing()
    const row = { id: this.nextId++, userId, type, amount, timeMillis }
    this.rows.push(row)
    return { ...row }
  }

  /** That user's rows in stored order. */
  async selectAllByUserId(userId: number): Promise<PointHistory[]> {
    await this.latency.reading()
    return this.rows.filter((row) => row.userId === userId).map((row) => ({ ...row }))
  }
}
