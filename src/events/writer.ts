import * as E from 'fp-ts/Either'
import type { Decide, PointState } from './decider'
import { evolve } from './decider'
import type { Command, PointEvent, Rejection, UserId, UserPoint } from './model'
import { asUnavailable, type PointStore, type StoreUnavailable } from './store'

/** A bug met while handling a command: never the caller's fault. */
export interface Defect {
  readonly _tag: 'Defect'
  readonly error: unknown
}

const defect = (error: unknown): Defect => ({ _tag: 'Defect', error })

/** What a command can fail with: the rules said no, the store failed, or a bug. */
export type CommandFailure = Rejection | StoreUnavailable | Defect
export type Outcome = E.Either<CommandFailure, UserPoint>

export interface WriterOptions {
  readonly store: PointStore
  readonly decide: Decide
  readonly clock?: () => number
  /** Most commands one batch takes, so early callers in a long queue are answered early. */
  readonly maxBatchSize?: number
  /** How often a batch is re-decided after losing a version race to another process. */
  readonly maxConflictRetries?: number
  /** Told the size of every batch a writer takes, for metrics. */
  readonly onBatch?: (size: number) => void
}

interface Pending {
  readonly command: Command
  readonly resolve: (outcome: Outcome) => void
}

interface Decided {
  readonly pending: Pending
  readonly result: E.Either<Rejection | Defect, { readonly events: PointEvent[]; readonly balance: number }>
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
    const start = await this.currentState()
    if (E.isLeft(start)) return failAll(batch, start.left)

    const decided = this.decideAll(batch, start.right)
    const events = decided.flatMap((d) => (E.isRight(d.result) ? d.result.right.events : []))
    if (events.length === 0) return this.answers(decided, this.clock())

    const next = events.reduce(evolve, start.right)
    const appended = await this.options.store.append(this.userId, events, start.right.version, next)()
    if (E.isRight(appended)) {
      this.state = next
      return this.answers(decided, appended.right.updateMillis)
    }
    this.state = undefined
    const fault = appended.left
    if (fault._tag === 'VersionConflict' && attempt < this.maxConflictRetries) {
      return this.process(batch, attempt + 1)
    }
    return failAll(batch, asUnavailable(fault))
  }

  private async currentState(): Promise<E.Either<StoreUnavailable, PointState>> {
    if (this.state !== undefined) return E.right(this.state)
    const loaded = await this.options.store.load(this.userId)()
    return E.mapLeft(asUnavailable)(loaded)
  }

  /** Decides every command in order, each against the state the ones before it left. */
  private decideAll(batch: Pending[], start: PointState): Decided[] {
    let state = start
    return batch.map((pending) => {
      const result = this.decideOne(pending.command, state)
      if (E.isLeft(result)) return { pending, result }
      state = result.right.reduce(evolve, state)
      return { pending, result: E.right({ events: result.right, balance: state.balance }) }
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

  /** Each command's own balance: the state right after its events. */
  private answers(decided: Decided[], updateMillis: number): Answer[] {
    return decided.map(({ pending, result }) => ({
      pending,
      outcome: E.isLeft(result) ? result : E.right({ id: this.userId, point: result.right.balance, updateMillis }),
    }))
  }
}

const failAll = (batch: Pending[], failure: CommandFailure): Answer[] =>
  batch.map((pending) => ({ pending, outcome: E.left(failure) }))
