interface Waiting<J, R> {
  readonly job: J
  readonly resolve: (result: R) => void
  readonly reject: (error: unknown) => void
}

/**
 * Collects the jobs submitted during one turn of the event loop and runs them
 * together once the turn's I/O callbacks are done (`setImmediate`), so requests
 * that arrive together share one commit. `run` answers every job, in order.
 */
export class TurnBatch<J, R> {
  private waiting: Waiting<J, R>[] = []
  private scheduled = false

  constructor(private readonly run: (jobs: readonly J[]) => readonly R[]) {}

  submit(job: J): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  /** Runs whatever is waiting now; also called on close so nothing is left behind. */
  flush(): void {
    const batch = this.waiting
    this.waiting = []
    this.scheduled = false
    if (batch.length === 0) return
    try {
      const results = this.run(batch.map((w) => w.job))
      batch.forEach((w, i) => w.resolve(results[i] as R))
    } catch (error) {
      // `run` answers faults as values; a throw is a bug, and each caller hears of it.
      batch.forEach((w) => w.reject(error))
    }
  }
}
