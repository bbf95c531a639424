/**
 * A job that runs in passes in the background, every `intervalMillis`: at most one pass at a time, never keeping
 * the process alive, and stopped so that a pass under way ends after its current step and the store can close.
 * What a pass does is the subclass's `run`, which checks `stopped` between its steps.
 */
export abstract class BackgroundPass {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<number> | undefined
  protected stopped = false

  constructor(private readonly intervalMillis: number) {}

  /** One pass: answers how many items it handled. */
  protected abstract run(): Promise<number>

  start(): void {
    if (this.timer !== undefined || this.stopped) return
    this.timer = setInterval(() => void this.pass(), this.intervalMillis)
    this.timer.unref()
  }

  /** One pass, unless one is running already, whose answer it then shares. */
  pass(): Promise<number> {
    this.running ??= this.run().finally(() => {
      this.running = undefined
    })
    return this.running
  }

  /** Stops the timer and waits for a pass under way, which ends after its current step. */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }
}
