import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { BackgroundPass } from '../events/background-pass'
import type { StoreFault } from '../events/store'

/** How long a receipt answers a retry unless configured: 24 hours, as the big payment APIs keep theirs. */
export const defaultReceiptRetentionMillis = 86_400_000

/** A store whose receipts past the window can be deleted a bounded batch at a time. */
export interface PrunesReceipts {
  /** Deletes at most `limit` receipts past the window, oldest first; answers how many it deleted. */
  pruneReceipts(limit: number): TE.TaskEither<StoreFault, number>
}

export const prunesReceipts = (store: object): store is PrunesReceipts =>
  typeof (store as Partial<PrunesReceipts>).pruneReceipts === 'function'

export interface PrunerOptions {
  /** Rows one delete takes at most: small, so a write waits for one short transaction at worst. */
  readonly batchSize?: number
  /** Batches one pass takes at most; a larger backlog is left to the next pass. */
  readonly maxBatches?: number
  /** Time between passes. */
  readonly intervalMillis?: number
  /** Told of a pass that failed; the next pass tries again. */
  readonly onFault?: (fault: StoreFault) => void
}

/**
 * Deletes expired receipts off the hot path: every `intervalMillis`, a pass of bounded deletes, each its own
 * short transaction, with a turn of the event loop between them so commands are served in between. Lookups
 * ignore expired receipts anyway, so how soon a pass runs changes the file's size, never an answer.
 */
export class ReceiptPruner extends BackgroundPass {
  private readonly batchSize: number
  private readonly maxBatches: number

  constructor(
    private readonly store: PrunesReceipts,
    private readonly options: PrunerOptions = {},
  ) {
    super(options.intervalMillis ?? 60_000)
    this.batchSize = options.batchSize ?? 500
    this.maxBatches = options.maxBatches ?? 200
  }

  protected async run(): Promise<number> {
    let deleted = 0
    for (let batch = 0; batch < this.maxBatches && !this.stopped; batch++) {
      const result = await this.store.pruneReceipts(this.batchSize)()
      if (E.isLeft(result)) {
        this.options.onFault?.(result.left)
        return deleted
      }
      deleted += result.right
      if (result.right < this.batchSize) return deleted
      await nextTurn()
    }
    return deleted
  }
}
