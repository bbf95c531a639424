import { Latency, type TableOptions } from './latency'
import type { UserPoint } from './models'

/**
 * The balance table: one row per user, in memory, every call slow.
 * Reads wait 0–199 ms and writes 0–299 ms unless other bounds are given.
 */
export class UserPointTable {
  private readonly rows = new Map<number, UserPoint>()
  private readonly latency: Latency

  constructor(options: TableOptions = {}) {
    this.latency = Latency.from(options, { min: 0, max: 199 }, { min: 0, max: 299 })
  }

  /** The stored row, or a zero balance (not stored) for an unknown id. */
  async selectById(id: number): Promise<UserPoint> {
    assertId(id)
    await this.latency.reading()
    const row = this.rows.get(id)
    return row ? { ...row } : { id, point: 0, updateMillis: Date.now() }
  }

  /** Stores `point` as the user's new balance (not a change to it). */
  async insertOrUpdate(id: number, point: number): Promise<UserPoint> {
    assertId(id)
    await this.latency.writing()
    const row = { id, point, updateMillis: Date.now() }
    this.rows.set(id, row)
    return { ...row }
  }
}

function assertId(id: number): void {
  if (!Number.isInteger(id) || id <= 0) {
    throw new RangeError(`user id must be a positive integer, got ${String(id)}`)
  }
}
