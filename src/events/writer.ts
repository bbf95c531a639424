import * as E from 'fp-ts/Either'
import { answers, planBatch, writesNothing, type BatchContext, type BatchPlan } from './batch'
import { defect, type CommandFailure, type Outcome, type QueueStats } from './commands'
import { noReferences, type Decide, type PointState, type References } from './decider'
import type { Command, IdempotencyKey, UserId, UserPoint } from './model'
import { StateCache } from './state-cache'
import { asFailure, type Locked, type PointStore, type Receipt, type StoreFailure, type StoreFault } from './store'

export interface WriterOptions {
  readonly store: PointStore
  readonly decide: Decide
  readonly clock?: () => number
  /** Most commands one batch takes, so early callers in a long queue are answered early. */
  readonly maxBatchSize?: number
  /** How often a batch is re-decided after losing a version race to another process. */
  readonly maxConflictRetries?: number
  /** Waited before each such retry (e.g. a jittered backoff, so rival instances stop colliding); none by default. */
  readonly conflictBackoff?: (attempt: number) => Promise<void>
  /** Told the size of every batch a writer takes, for metrics. */
  readonly onBatch?: (size: number) => void
  /** How many idle users' decided states are kept, so their next command skips the store's read; none by default. */
  readonly stateCacheSize?: number
}

interface Pending {
  readonly command: Command
  readonly resolve: (outcome: Outcome) => void
}

/** A batch the store took: its plan, and the commit time its answers carry. */
interface Written {
  readonly plan: BatchPlan
  readonly updateMillis: number
}

/**
 * Single writer per user. Commands for one user are decided and appended one
 * batch at a time, in arrival order; users do not wait for each other. A
 * user's writer exists only while it has work, so the map holds busy users only.
 */
export class CommandQueue implements QueueStats {
  private readonly writers = new Map<UserId, UserWriter>()
  private readonly cache: StateCache<PointState>

  constructor(private readonly options: WriterOptions) {
    this.cache = new StateCache(options.stateCacheSize ?? 0)
  }

  submit(command: Command): Promise<Outcome> {
    const userId = command.userId
    let writer = this.writers.get(userId)
    if (writer === undefined) {
      writer = new UserWriter(userId, this.options, this.cache, (state) => this.idle(userId, state))
      this.writers.set(userId, writer)
    }
    return writer.enqueue(command)
  }

  /** Idle users whose state is kept, for tests and benchmarks. */
  get cachedStates(): number {
    return this.cache.size
  }

  /** A writer leaves with the state it last stored; one that does not know it leaves nothing behind. */
  private idle(userId: UserId, state: PointState | undefined): void {
    this.writers.delete(userId)
    if (state === undefined) this.cache.forget(userId)
    else this.cache.keep(userId, state)
  }

  get activeWriters(): number {
    return this.writers.size
  }

  get queued(): number {
    let total = 0
    for (const writer of this.writers.values()) total += writer.depth
    return total
  }
}

class UserWriter {
  private readonly queue: Pending[] = []
  private busy = false
  /** The state the next batch is decided on; undefined: the store is read first. */
  private state: PointState | undefined
  /** The state came from the cache and no append has tested it yet: it may be stale. */
  private untested: boolean
  /**
   * The version the cache's entry had, kept even when the entry is not decided on, so that the first read or append
   * can tell the cache whether the entry was stale: how the cache learns when to trust its entries.
   */
  private leftAt: number | undefined
  /** Set by a lost version race; the batches after it are decided under the store's lock, if it has one. */
  private contended = false
  private readonly context: BatchContext
  private readonly maxBatchSize: number
  private readonly maxConflictRetries: number

  constructor(
    private readonly userId: UserId,
    private readonly options: WriterOptions,
    private readonly cache: StateCache<PointState>,
    private readonly onIdle: (state: PointState | undefined) => void,
  ) {
    const cached = cache.take(userId)
    this.state = cache.trusted ? cached : undefined
    this.untested = this.state !== undefined
    this.leftAt = cached?.version
    this.context = { userId, decide: options.decide, clock: options.clock ?? Date.now }
    this.maxBatchSize = options.maxBatchSize ?? 256
    this.maxConflictRetries = options.maxConflictRetries ?? 5
  }

  get depth(): number {
    return this.queue.length
  }

  enqueue(command: Command): Promise<Outcome> {
    return new Promise((resolve) => {
      this.queue.push({ command, resolve })
      if (this.busy) return
      this.busy = true
      // Start after the current tick, so commands sent together share the first batch.
      queueMicrotask(() => void this.drain())
    })
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatchSize)
      this.options.onBatch?.(batch.length)
      const outcomes = await this.settle(batch.map(({ command }) => command))
      // Leave the map before answering the last batch: a caller holding its answer never finds this writer.
      if (this.queue.length === 0) this.onIdle(this.state)
      batch.forEach(({ resolve }, i) => resolve(outcomes[i]!))
    }
  }

  /** Every command of the batch gets an answer, whatever happens. */
  private async settle(batch: readonly Command[]): Promise<Outcome[]> {
    try {
      return await this.process(batch)
    } catch (error) {
      // A store that threw instead of returning a fault: fail this batch, keep serving the queue.
      this.state = undefined
      this.untested = false
      return failAll(batch, defect(error))
    }
  }

  private async process(batch: readonly Command[], attempt = 0): Promise<Outcome[]> {
    const fromCache = this.untested
    const written = await this.write(batch)
    if (E.isRight(written)) return answers(this.userId, written.right.plan.verdicts, written.right.updateMillis)
    const fault = written.left
    // A cached state another instance has since moved past: read it again and retry, once, as if nothing had raced.
    if (fault._tag === 'VersionConflict' && fromCache) return this.process(batch, attempt)
    if (fault._tag !== 'VersionConflict' || attempt >= this.maxConflictRetries) return failAll(batch, asFailure(fault))
    // Another process writes for this user too: take the lock from now until this writer goes idle.
    this.contended = true
    await this.options.conflictBackoff?.(attempt)
    return this.process(batch, attempt + 1)
  }

  private write(batch: readonly Command[]): Promise<E.Either<StoreFault, Written>> {
    const { store } = this.options
    // What a refund, capture or release names is read before the lock is taken, so it could be older than the
    // state read under it: such a batch stays optimistic, where the version check proves the read current.
    const appendLocked = this.contended && !namesAnything(batch) ? store.appendLocked?.bind(store) : undefined
    return appendLocked === undefined ? this.writeOptimistic(batch) : this.writeLocked(batch, appendLocked)
  }

  /** Decides on the state this writer holds, and appends if no one else has written for the user since. */
  private async writeOptimistic(batch: readonly Command[]): Promise<E.Either<StoreFault, Written>> {
    // Each step awaits only when it reads: an await of a value already at hand still costs a microtask turn, and
    // most batches have their state, no keys and no references.
    const start = this.state === undefined ? await this.currentState() : E.right(this.state)
    if (E.isLeft(start)) return start
    const recorded = hasKeys(batch) ? await this.receiptsFor(batch) : noReceipts
    if (E.isLeft(recorded)) return recorded
    const refs = namesAnything(batch) ? await this.referencesFor(batch) : E.right(noReferences)
    if (E.isLeft(refs)) return refs
    const plan = planBatch(this.context, batch, start.right, recorded.right, refs.right)
    if (writesNothing(plan) && this.untested) {
      // Nothing appended would test a cached state, and a refusal must not rest on one that may be stale.
      this.state = undefined
      this.untested = false
      return this.writeOptimistic(batch)
    }
    if (writesNothing(plan)) return E.right({ plan, updateMillis: this.context.clock() })
    const appended = await this.options.store.append(this.userId, start.right.version, plan)()
    return this.kept(E.map((point: UserPoint) => ({ plan, point }))(appended))
  }

  /** Once a race is lost: decide on the state read under the store's lock, so no rival can win in between. */
  private async writeLocked(batch: readonly Command[], appendLocked: NonNullable<PointStore['appendLocked']>): Promise<E.Either<StoreFault, Written>> {
    const recorded = await this.receiptsFor(batch)
    if (E.isLeft(recorded)) return recorded
    return this.kept(await appendLocked(this.userId, (state) => planBatch(this.context, batch, state, recorded.right))())
  }

  /** The state a stored plan leads to is the next batch's start; after a failed append the store is read again. */
  private kept(appended: E.Either<StoreFault, Locked<BatchPlan>>): E.Either<StoreFault, Written> {
    // Still unread, so decided on the cache's entry (the locked path comes only after a conflict, which cleared it):
    // the append tells whether it was stale, unless the store failed.
    if (this.leftAt !== undefined && (E.isRight(appended) || appended.left._tag === 'VersionConflict')) this.cache.tested(E.isLeft(appended))
    this.leftAt = undefined
    this.state = E.isRight(appended) ? appended.right.plan.projection : undefined
    this.untested = false
    return E.map(({ plan, point }: Locked<BatchPlan>) => ({ plan, updateMillis: point.updateMillis }))(appended)
  }

  private async currentState(): Promise<E.Either<StoreFailure, PointState>> {
    if (this.state !== undefined) return E.right(this.state)
    const loaded = await this.options.store.load(this.userId)()
    if (E.isRight(loaded)) {
      // Kept, so that a user whose commands were all refused leaves the state it read in the cache.
      this.state = loaded.right
      if (this.leftAt !== undefined) this.cache.tested(loaded.right.version !== this.leftAt)
      this.leftAt = undefined
    }
    return E.mapLeft(asFailure)(loaded)
  }

  /** The uses and holds the batch's commands name, looked up once per batch, after the state it is decided on. */
  private async referencesFor(batch: readonly Command[]): Promise<E.Either<StoreFailure, References>> {
    const useIds = unique(batch.flatMap((command) => (command.type === 'Refund' ? [command.useId] : [])))
    const holdIds = unique(batch.flatMap((command) => (command.type === 'Capture' || command.type === 'Release' ? [command.holdId] : [])))
    if (useIds.length === 0 && holdIds.length === 0) return E.right(noReferences)
    return E.mapLeft(asFailure)(await this.options.store.references(this.userId, { useIds, holdIds })())
  }

  /** The stored answers to the batch's keyed commands, looked up once per batch. */
  private async receiptsFor(batch: readonly Command[]): Promise<E.Either<StoreFailure, Map<IdempotencyKey, Receipt>>> {
    const keys = [...new Set(batch.flatMap((command) => (command.key === undefined ? [] : [command.key])))]
    if (keys.length === 0) return E.right(new Map())
    const found = await this.options.store.receipts(this.userId, keys)()
    return E.isLeft(found) ? E.left(asFailure(found.left)) : E.right(new Map(found.right.map((r) => [r.key, r])))
  }
}

const unique = (ids: number[]): number[] => [...new Set(ids)]

const hasKeys = (batch: readonly Command[]): boolean => batch.some((command) => command.key !== undefined)

/** A batch without keys has no receipts to look up; shared, as planBatch only reads it. */
const noReceipts: E.Either<never, ReadonlyMap<IdempotencyKey, Receipt>> = E.right(new Map())

const namesAnything = (batch: readonly Command[]): boolean =>
  batch.some((command) => command.type === 'Refund' || command.type === 'Capture' || command.type === 'Release')

const failAll = (batch: readonly Command[], failure: CommandFailure): Outcome[] => batch.map(() => E.left(failure))
