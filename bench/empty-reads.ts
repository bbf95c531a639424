import * as TE from 'fp-ts/TaskEither'
import { noReferences, type References } from '../src/events/decider'
import type { Receipt, StoredHold, StoreFault } from '../src/events/store'

/**
 * The store calls a benchmark's commands never need answered with anything: they carry no idempotency keys,
 * place no holds and refund nothing, and there is nothing to close.
 */
export abstract class EmptyReads {
  receipts(): TE.TaskEither<StoreFault, Receipt[]> {
    return TE.right([])
  }

  references(): TE.TaskEither<StoreFault, References> {
    return TE.right(noReferences)
  }

  holds(): TE.TaskEither<StoreFault, StoredHold[]> {
    return TE.right([])
  }

  expiredHolds(): TE.TaskEither<StoreFault, never[]> {
    return TE.right([])
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}
