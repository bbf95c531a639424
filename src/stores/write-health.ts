import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import type { StoreFault } from '../events/store'

export interface Probes {
  /** Cheap, and changes nothing: that the store answers at all. */
  readonly read: TE.TaskEither<StoreFault, void>
  /** A small real write that changes no data: that a commit would go through now. */
  readonly write: TE.TaskEither<StoreFault, void>
}

/**
 * Whether a store's commits work, for readiness. A commit that failed as an outage marks the store failing;
 * readiness then runs the write probe instead of the read one until a probe or a commit succeeds, so an
 * instance a balancer took out of rotation, which gets no commits, still finds out that it works again.
 */
export class WriteHealth {
  private failing = false

  constructor(private readonly probes: Probes) {}

  /** Told the answers of every commit; hands them back. */
  observe<R extends E.Either<StoreFault, unknown>>(results: readonly R[]): readonly R[] {
    if (results.some(E.isRight)) this.failing = false
    else if (results.some((result) => E.isLeft(result) && result.left._tag === 'StoreUnavailable')) this.failing = true
    return results
  }

  readonly readiness: TE.TaskEither<StoreFault, void> = async () => {
    if (!this.failing) return this.probes.read()
    const probed = await this.probes.write()
    if (E.isRight(probed)) this.failing = false
    return probed
  }
}
