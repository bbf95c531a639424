import { PointHistoryTable, UserPointTable, type TableOptions, type TransactionType } from '../../database'

/**
 * Watches the writes made to the given tables: which ones overlapped for the
 * same user in the same table, and every balance written to the projection.
 */
export class TableWatch {
  private readonly inFlight = new Map<string, number>()
  /** One entry each time a write started while another to the same table and user was running. */
  readonly overlaps: string[] = []
  /** Every balance written for a user, in the order the writes started. */
  readonly projected = new Map<number, number[]>()

  async write<A>(table: string, userId: number, call: () => Promise<A>): Promise<A> {
    const key = `${table} for user ${userId}`
    const running = this.inFlight.get(key) ?? 0
    if (running > 0) this.overlaps.push(key)
    this.inFlight.set(key, running + 1)
    try {
      return await call()
    } finally {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1)
    }
  }

  project(userId: number, point: number): void {
    this.projected.set(userId, [...(this.projected.get(userId) ?? []), point])
  }
}

/** The given balance table, its writes reported to a watch. */
export class WatchedPointTable extends UserPointTable {
  constructor(
    private readonly watch: TableWatch,
    options: TableOptions,
  ) {
    super(options)
  }

  override insertOrUpdate(id: number, point: number) {
    this.watch.project(id, point)
    return this.watch.write('insertOrUpdate', id, () => super.insertOrUpdate(id, point))
  }
}

/** The given history table, its inserts reported to a watch. */
export class WatchedHistoryTable extends PointHistoryTable {
  constructor(
    private readonly watch: TableWatch,
    options: TableOptions,
  ) {
    super(options)
  }

  override insert(userId: number, amount: number, type: TransactionType, timeMillis: number) {
    return this.watch.write('insert', userId, () => super.insert(userId, amount, type, timeMillis))
  }
}
