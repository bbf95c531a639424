import * as E from 'fp-ts/Either'
import type { Decide, PointState } from './decider'
import { evolve } from './decider'
import { fingerprint, rejection, type Accepted, type Command, type IdempotencyKey, type PointEvent, type Rejection, type UserId, type UserPoint } from './model'
import {
  asUnavailable,
  type NewReceipt,
  type Plan,
  type PointStore,
  type Receipt,
  type RecordedOutcome,
  type StoreFault,
  type StoreUnavailable,
} from './store'

/** A bug met while handling a command: never the caller's fault. */
export interface Defect {
  readonly _tag: 'Defect'
  readonly error: unknown
}

const defect = (error: unknown): Defect => ({ _tag: 'Defect', error })

/** What a command can fail with: the rules said no, the store failed, or a bug. */
export type CommandFailure = Rejection | StoreUnavailable | Defect
export type Outcome = E.Either<CommandFailure, Accepted>

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
}

interface Pending {
  readonly command: Command
  readonly resolve: (outcome: Outcome) => void
}

type Decision = E.Either<Rejection | Defect, { readonly events: PointEvent[]; readonly balance: number }>

/** How one command of a batch is settled: decided now, or a repeat of a keyed command answered before. */
type Verdict =
  | { readonly kind: 'decided'; readonly result: Decision }
  | { readonly kind: 'recorded'; readonly outcome: RecordedOutcome }
  | { readonly kind: 'repeats'; readonly index: number }

interface Decided {
  readonly pending: Pending
  readonly verdict: Verdict
}

interface BatchPlan extends Plan {
  readonly decided: Decided[]
}

/**
 * Single writer per user. Commands for one user are decided and appended one
 * batch at a time, in arrival order; users do not wait for each other. A
 * user's writer exists only while it has work, so the map holds busy users only.
 */
export class CommandQueue {
  private readonly writers = new Map<UserId, UserWriter>()

  constructor(private readonly options: WriterOptions) {}

  submit(command: Command): Promise<Outcome> {
    const userId = command.userId
    let writer = this.writers.get(userId)
    if (writer === undefined) {
      writer = new UserWriter(userId, this.options, () => this.writers.delete(userId))
      this.writers.set(userId, writer)
    }
    return writer.enqueue(command)
  }

  /** Users with a writer right now: zero whenever the service is idle. */
  get activeWriters(): number {
    return this.writers.size
  }

  /** Commands waiting for their writer, over all users. */
  get queued(): number {
    let total = 0
    for (const writer of this.writers.values()) total += writer.depth
    return total
  }
}

/** A command's outcome, ready to hand back to whoever sent it. */
interface Answer {
  readonly pending: Pending
  readonly outcome: Outcome
}

class UserWriter {
  private readonly queue: Pending[] = []
  private state: PointState | undefined
  private busy = false
  /** Set by a lost version race; the batches after it are decided under the store's lock, if it has one. */
  private contended = false
  private readonly clock: () => number
  private readonly maxBatchSize: number
  private readonly maxConflictRetries: number

  constructor(
    private readonly userId: UserId,
    private readonly options: WriterOptions,
    private readonly onIdle: () => void,
  ) {
    this.clock = options.clock ?? Date.now
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
      const answers = await this.settle(batch)
      // Leave the map before answering the last batch: a caller holding its answer never finds this writer.
      if (this.queue.length === 0) this.onIdle()
      answers.forEach(({ pending, outcome }) => pending.resolve(outcome))
    }
  }

  /** Every command of the batch gets an answer, whatever happens. */
  private async settle(batch: Pending[]): Promise<Answer[]> {
    try {
      return await this.process(batch)
    } catch (error) {
      // A store that threw instead of returning a fault: fail this batch, keep serving the queue.
      this.state = undefined
      return failAll(batch, defect(error))
    }
  }

  private async process(batch: Pending[], attempt = 0): Promise<Answer[]> {
    const appendLocked = this.contended ? this.options.store.appendLocked?.bind(this.options.store) : undefined
    if (appendLocked !== undefined) return this.processLocked(batch, attempt, appendLocked)
    const start = await this.currentState()
    if (E.isLeft(start)) return failAll(batch, start.left)

    const recorded = await this.receiptsFor(batch)
    if (E.isLeft(recorded)) return failAll(batch, recorded.left)

    const plan = this.plan(batch, start.right, recorded.right)
    if (plan.events.length === 0 && plan.receipts.length === 0) return this.answers(plan.decided, this.clock())
    const { events, projection, receipts } = plan
    const appended = await this.options.store.append(this.userId, events, start.right.version, projection, receipts)()
    return this.conclude(batch, plan, appended, attempt)
  }

  /** Once a race is lost: decide on the state read under the store's lock, so no rival can win in between. */
  private async processLocked(batch: Pending[], attempt: number, appendLocked: NonNullable<PointStore['appendLocked']>): Promise<Answer[]> {
    const recorded = await this.receiptsFor(batch)
    if (E.isLeft(recorded)) return failAll(batch, recorded.left)
    let plan: BatchPlan | undefined
    const appended = await appendLocked(this.userId, (state) => (plan = this.plan(batch, state, recorded.right)))()
    if (plan === undefined) {
      return failAll(batch, E.isLeft(appended) ? asUnavailable(appended.left) : defect(new Error('appendLocked answered without a plan')))
    }
    return this.conclude(batch, plan, appended, attempt)
  }

  private async conclude(batch: Pending[], plan: BatchPlan, appended: E.Either<StoreFault, UserPoint>, attempt: number): Promise<Answer[]> {
    if (E.isRight(appended)) {
      this.state = plan.projection
      return this.answers(plan.decided, appended.right.updateMillis)
    }
    this.state = undefined
    const fault = appended.left
    if (fault._tag !== 'VersionConflict' || attempt >= this.maxConflictRetries) return failAll(batch, asUnavailable(fault))
    // Another process writes for this user too: take the lock from now until this writer goes idle.
    this.contended = true
    await this.options.conflictBackoff?.(attempt)
    return this.process(batch, attempt + 1)
  }

  /** Every command of the batch decided in order from `start`, and what that asks the store to append. */
  private plan(batch: Pending[], start: PointState, recorded: Map<IdempotencyKey, Receipt>): BatchPlan {
    const decided = this.decideAll(batch, start, recorded)
    const events = decided.flatMap(({ verdict }) =>
      verdict.kind === 'decided' && E.isRight(verdict.result) ? verdict.result.right.events : [],
    )
    return { decided, events, projection: events.reduce(evolve, start), receipts: this.newReceipts(decided) }
  }

  private async currentState(): Promise<E.Either<StoreUnavailable, PointState>> {
    if (this.state !== undefined) return E.right(this.state)
    const loaded = await this.options.store.load(this.userId)()
    return E.mapLeft(asUnavailable)(loaded)
  }

  /** The stored answers to the batch's keyed commands, looked up once per batch. */
  private async receiptsFor(batch: Pending[]): Promise<E.Either<StoreUnavailable, Map<IdempotencyKey, Receipt>>> {
    const keys = [...new Set(batch.flatMap(({ command }) => (command.key === undefined ? [] : [command.key])))]
    if (keys.length === 0) return E.right(new Map())
    const found = await this.options.store.receipts(keys)()
    return E.isLeft(found) ? E.left(asUnavailable(found.left)) : E.right(new Map(found.right.map((r) => [r.key, r])))
  }

  /**
   * Decides every command in order, each against the state the ones before it
   * left. A keyed command seen before, stored or earlier in this batch, is not
   * decided again: it gets the first answer, or IDEMPOTENCY_KEY_REUSED if it is
   * not the same command.
   */
  private decideAll(batch: Pending[], start: PointState, stored: Map<IdempotencyKey, Receipt>): Decided[] {
    let state = start
    const firstInBatch = new Map<IdempotencyKey, number>()
    return batch.map(({ command, ...rest }, index) => {
      const pending = { command, ...rest }
      const key = command.key
      if (key !== undefined) {
        const earlier = stored.get(key) ?? firstInBatch.get(key)
        if (earlier !== undefined) return { pending, verdict: this.repeat(command, earlier, batch) }
        firstInBatch.set(key, index)
      }
      const result = this.decideOne(command, state)
      if (E.isLeft(result)) return { pending, verdict: { kind: 'decided', result } }
      state = result.right.reduce(evolve, state)
      return { pending, verdict: { kind: 'decided', result: E.right({ events: result.right, balance: state.balance }) } }
    })
  }

  private repeat(command: Command, earlier: Receipt | number, batch: Pending[]): Verdict {
    const original = typeof earlier === 'number' ? fingerprint(batch[earlier]!.command) : earlier.fingerprint
    if (original !== fingerprint(command)) {
      return {
        kind: 'decided',
        result: E.left(rejection('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different command')),
      }
    }
    return typeof earlier === 'number' ? { kind: 'repeats', index: earlier } : { kind: 'recorded', outcome: earlier.outcome }
  }

  /** What to remember of this batch's keyed commands; a defect is not an answer worth repeating. */
  private newReceipts(decided: Decided[]): NewReceipt[] {
    return decided.flatMap(({ pending: { command }, verdict }) => {
      if (command.key === undefined || verdict.kind !== 'decided') return []
      const outcome = recordable(verdict.result)
      return outcome === undefined ? [] : [{ key: command.key, userId: this.userId, fingerprint: fingerprint(command), outcome }]
    })
  }

  /** One command's decision; a decider that throws fails that command alone. */
  private decideOne(command: Command, state: PointState): E.Either<Rejection | Defect, PointEvent[]> {
    try {
      return this.options.decide(command, state, this.clock())
    } catch (error) {
      return E.left(defect(error))
    }
  }

  /** Each command's own balance, the state right after its events; a repeat gets the first answer again. */
  private answers(decided: Decided[], updateMillis: number): Answer[] {
    const outcomes: Outcome[] = []
    for (const { verdict } of decided) outcomes.push(this.outcome(verdict, updateMillis, outcomes))
    return decided.map(({ pending }, i) => ({ pending, outcome: outcomes[i]! }))
  }

  private outcome(verdict: Verdict, updateMillis: number, earlier: readonly Outcome[]): Outcome {
    switch (verdict.kind) {
      case 'decided':
        return E.map(({ balance }: { balance: number }) => ({ id: this.userId, point: balance, updateMillis }))(verdict.result)
      case 'recorded':
        return replayed(
          verdict.outcome._tag === 'Accepted'
            ? E.right({ id: this.userId, point: verdict.outcome.point, updateMillis: verdict.outcome.updateMillis })
            : E.left(verdict.outcome),
        )
      case 'repeats':
        return replayed(earlier[verdict.index]!)
    }
  }
}

/** The part of a decision a retry should see again: an acceptance or a rule's rejection, never a bug. */
const recordable = (result: Decision): NewReceipt['outcome'] | undefined => {
  if (E.isRight(result)) return { _tag: 'Accepted', point: result.right.balance }
  const failure = result.left
  return failure._tag === 'Rejection' && failure.code !== 'IDEMPOTENCY_KEY_REUSED' ? failure : undefined
}

/** Marks an answer as the repeat of an earlier one; failures that were never recorded stay as they are. */
const replayed = (outcome: Outcome): Outcome =>
  E.isRight(outcome)
    ? E.right({ ...outcome.right, replayed: true })
    : outcome.left._tag === 'Rejection'
      ? E.left({ ...outcome.left, replayed: true })
      : outcome

const failAll = (batch: Pending[], failure: CommandFailure): Answer[] =>
  batch.map((pending) => ({ pending, outcome: E.left(failure) }))
