import * as E from 'fp-ts/Either'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { CommandFailure, Commands } from './commands'
import { BackgroundPass } from './background-pass'
import type { PointStore, StoreFault } from './store'

export interface HoldSweeperOptions {
  /** Time between passes: an EXPIRE is recorded at most this long, plus one pass, after its hold's expiry. */
  readonly intervalMillis?: number
  /** Due holds one lookup takes at most. */
  readonly batchSize?: number
  /** Lookups one pass takes at most; a larger backlog is left to the next pass. */
  readonly maxBatches?: number
  readonly clock?: () => number
  /** Told of a lookup or an expiry that failed; the next pass tries again. */
  readonly onFault?: (fault: StoreFault | CommandFailure) => void
}

/**
 * Records the expiry of holds past theirs. Answers and decisions already count such a hold as released by the
 * clock; this writes the EXPIRE event the log owes them. Each expiry goes through the user's writer like any
 * command, so with several instances sweeping the same hold, the version check lets one EXPIRE in and the
 * others, re-decided on the new state, find the hold gone and write nothing. A hold captured or released
 * first is gone as well: the sweeper never resolves a hold a second time.
 */
export class HoldSweeper extends BackgroundPass {
  private readonly batchSize: number
  private readonly maxBatches: number
  private readonly clock: () => number

  constructor(
    private readonly store: Pick<PointStore, 'expiredHolds'>,
    private readonly expire: Commands['expire'],
    private readonly options: HoldSweeperOptions = {},
  ) {
    super(options.intervalMillis ?? 1_000)
    this.batchSize = options.batchSize ?? 256
    this.maxBatches = options.maxBatches ?? 40
    this.clock = options.clock ?? Date.now
  }

  protected async run(): Promise<number> {
    let sent = 0
    for (let batch = 0; batch < this.maxBatches && !this.stopped; batch++) {
      const due = await this.store.expiredHolds(this.clock(), this.batchSize)()
      if (E.isLeft(due)) {
        this.options.onFault?.(due.left)
        return sent
      }
      const outcomes = await Promise.all(due.right.map(({ userId, holdId }) => this.expire(userId, holdId)()))
      const failed = outcomes.filter(E.isLeft)
      for (const failure of failed) this.options.onFault?.(failure.left)
      sent += due.right.length
      // A failed expiry would be found again at once: leave it to the next pass.
      if (due.right.length < this.batchSize || failed.length > 0) return sent
      await nextTurn()
    }
    return sent
  }
}
