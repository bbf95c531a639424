interface Waiting<J, R> {
  readonly job: J
  readonly resolve: (result: R) => void
  readonly reject: (error: unknown) => void
}

/**
 * Collects the jobs submitted during one turn of the event loop and runs them
 * together once the turn's I/O callbacks are done (`setImmediate`), so requests
 * that arrive together share one commit. `run` answers every job, in order,
 * right away (SQLite) or once its transaction is over (PostgreSQL).
 */
export class TurnBatch<J, R> {
  private waiting: Waiting<J, R>[] = []
  private scheduled = false
  private inFlight = 0

  /**
   * `maxInFlight`: how many asynchronous runs may be under way at once. At the limit, jobs wait for a run to
   * end and go together in the next one, so a busy store gets fewer, larger batches instead of more round trips.
   */
  constructor(
    private readonly run: (jobs: readonly J[]) => readonly R[] | Promise<readonly R[]>,
    private readonly maxInFlight = Number.POSITIVE_INFINITY,
  ) {}

  submit(job: J): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => {
          // At the limit the run that ends next starts these.
          if (this.inFlight < this.maxInFlight) void this.flush()
        })
      }
    })
  }

  /**
   * Runs whatever is waiting now; also called on close so nothing is left behind.
   * Synchronous work is done, and its callers answered, before this returns.
   */
  flush(): Promise<void> {
    const batch = this.waiting
    this.waiting = []
    this.scheduled = false
    if (batch.length === 0) return Promise.resolve()
    // `run` answers faults as values; a throw is a bug, and each caller hears of it.
    const fail = (error: unknown) => batch.forEach((w) => w.reject(error))
    const answer = (results: readonly R[]) => batch.forEach((w, i) => w.resolve(results[i] as R))
    let results: readonly R[] | Promise<readonly R[]>
    try {
      results = this.run(batch.map((w) => w.job))
    } catch (error) {
      fail(error)
      return Promise.resolve()
    }
    if (!(results instanceof Promise)) {
      answer(results)
      return Promise.resolve()
    }
    this.inFlight++
    return results.then(answer, fail).finally(() => {
      this.inFlight--
      if (this.waiting.length > 0 && this.inFlight < this.maxInFlight) void this.flush()
    })
  }
}
