/** Inclusive bounds, in milliseconds, of the random wait before a table call completes. */
export interface DelayRange {
  min: number
  max: number
}

export type Sleep = (ms: number) => Promise<void>

export interface TableOptions {
  /** Bounds for reads; each table documents its default. */
  readDelay?: DelayRange
  /** Bounds for writes; each table documents its default. */
  writeDelay?: DelayRange
  /** How to wait; tests may hand in one whose completions they control. */
  sleep?: Sleep
}

const timerSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export class Latency {
  private readonly sleep: Sleep

  constructor(
    private readonly read: DelayRange,
    private readonly write: DelayRange,
    sleep: Sleep = timerSleep,
  ) {
    assertRange(read)
    assertRange(write)
    this.sleep = sleep
  }

  static from(options: TableOptions, read: DelayRange, write: DelayRange): Latency {
    return new Latency(options.readDelay ?? read, options.writeDelay ?? write, options.sleep)
  }

  reading(): Promise<void> {
    return this.sleep(pick(this.read))
  }

  writing(): Promise<void> {
    return this.sleep(pick(this.write))
  }
}

function pick({ min, max }: DelayRange): number {
  return min + Math.floor(Math.random() * (max - min + 1))
}

function assertRange({ min, max }: DelayRange): void {
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
    throw new RangeError(`invalid delay range ${min}..${max}`)
  }
}
