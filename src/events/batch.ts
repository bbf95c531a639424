import * as E from 'fp-ts/Either'
import { defect, type Defect, type Outcome } from './commands'
import type { Accepted } from './model'
import { evolve, evolveReferences, heldAt, noReferences, type Decide, type PointState, type References } from './decider'
import { fingerprint, rejection, type Command, type HoldView, type IdempotencyKey, type PointEvent, type Rejection, type UserId } from './model'
import type { NewReceipt, Plan, Receipt, RecordedOutcome } from './store'

/** What deciding a batch needs besides the commands: whose they are, the rules, and the time. */
export interface BatchContext {
  readonly userId: UserId
  readonly decide: Decide
  /** Read once for each command that is decided, as its time. */
  readonly clock: () => number
}

/** An accepted command's events, the balance and held amount right after them, and the hold it placed, if any. */
interface Decided {
  readonly events: PointEvent[]
  readonly balance: number
  readonly held: number
  readonly hold?: HoldView
}

type Decision = E.Either<Rejection | Defect, Decided>

/** How one command of a batch is settled: decided now, or a repeat of a keyed command answered before. */
export type Verdict =
  | { readonly _tag: 'Decided'; readonly result: Decision }
  | { readonly _tag: 'Recorded'; readonly outcome: RecordedOutcome }
  | { readonly _tag: 'Repeats'; readonly index: number }

/** What the store is asked to append, and how each command of the batch was settled, in order. */
export interface BatchPlan extends Plan {
  readonly verdicts: readonly Verdict[]
}

/** A plan that writes nothing need not reach the store. */
export const writesNothing = (plan: Plan): boolean => plan.events.length === 0 && plan.receipts.length === 0

/** Every command of the batch decided in order from `start`, and what that asks the store to append. */
export function planBatch(
  context: BatchContext,
  batch: readonly Command[],
  start: PointState,
  stored: ReadonlyMap<IdempotencyKey, Receipt>,
  refs: References = noReferences,
): BatchPlan {
  const verdicts = decideAll(context, batch, start, stored, refs)
  const events = verdicts.flatMap((verdict) => (verdict._tag === 'Decided' && E.isRight(verdict.result) ? verdict.result.right.events : []))
  return { verdicts, events, projection: events.reduce(evolve, start), receipts: newReceipts(context.userId, batch, verdicts) }
}

/**
 * Decides every command in order, each against the state the ones before it
 * left. A keyed command seen before, stored or earlier in this batch, is not
 * decided again: it gets the first answer, or IDEMPOTENCY_KEY_REUSED if it is
 * not the same command.
 */
function decideAll(
  context: BatchContext,
  batch: readonly Command[],
  start: PointState,
  stored: ReadonlyMap<IdempotencyKey, Receipt>,
  startRefs: References,
): Verdict[] {
  let state = start
  let refs = startRefs
  const firstInBatch = new Map<IdempotencyKey, number>()
  return batch.map((command, index): Verdict => {
    const key = command.key
    if (key !== undefined) {
      const earlier = stored.get(key) ?? firstInBatch.get(key)
      if (earlier !== undefined) return repeat(command, earlier, batch)
      firstInBatch.set(key, index)
    }
    const now = context.clock()
    const result = decideOne(context, command, state, now, refs)
    if (E.isLeft(result)) return { _tag: 'Decided', result }
    state = result.right.reduce(evolve, state)
    refs = result.right.reduce(evolveReferences, refs)
    const placed = result.right.find((event) => event.type === 'HOLD')
    const hold = placed === undefined ? {} : { hold: { holdId: placed.ref ?? state.version, amount: placed.amount, expiresAt: placed.expiresAt ?? now } }
    return { _tag: 'Decided', result: E.right({ events: result.right, balance: state.balance, held: heldAt(state, now), ...hold }) }
  })
}

function repeat(command: Command, earlier: Receipt | number, batch: readonly Command[]): Verdict {
  const original = typeof earlier === 'number' ? fingerprint(batch[earlier]!) : earlier.fingerprint
  if (original !== fingerprint(command)) {
    return { _tag: 'Decided', result: E.left(rejection('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different command')) }
  }
  return typeof earlier === 'number' ? { _tag: 'Repeats', index: earlier } : { _tag: 'Recorded', outcome: earlier.outcome }
}

/** One command's decision; a decider that throws fails that command alone. */
function decideOne({ decide }: BatchContext, command: Command, state: PointState, now: number, refs: References): E.Either<Rejection | Defect, PointEvent[]> {
  try {
    return decide(command, state, now, refs)
  } catch (error) {
    return E.left(defect(error))
  }
}

/** What to remember of this batch's keyed commands; a defect is not an answer worth repeating. */
function newReceipts(userId: UserId, batch: readonly Command[], verdicts: readonly Verdict[]): NewReceipt[] {
  return batch.flatMap((command, i) => {
    const verdict = verdicts[i]!
    if (command.key === undefined || verdict._tag !== 'Decided') return []
    const outcome = recordable(verdict.result)
    return outcome === undefined ? [] : [{ key: command.key, userId, fingerprint: fingerprint(command), outcome }]
  })
}

/** The part of a decision a retry should see again: an acceptance or a rule's rejection, never a bug. */
const recordable = (result: Decision): NewReceipt['outcome'] | undefined => {
  if (E.isRight(result)) {
    const { balance, held, hold } = result.right
    // Nothing held is left out, as receipts recorded before holds existed are: a replay reads it back as 0.
    return { _tag: 'Accepted', point: balance, ...(held === 0 ? {} : { held }), ...(hold === undefined ? {} : { hold }) }
  }
  const failure = result.left
  return failure._tag === 'Rejection' && failure.code !== 'IDEMPOTENCY_KEY_REUSED' ? failure : undefined
}

/** Each command's own balance, the state right after its events, once the plan is stored; a repeat gets the first answer again. */
export function answers(userId: UserId, verdicts: readonly Verdict[], updateMillis: number): Outcome[] {
  const outcomes: Outcome[] = []
  for (const verdict of verdicts) outcomes.push(outcome(userId, verdict, updateMillis, outcomes))
  return outcomes
}

function outcome(userId: UserId, verdict: Verdict, updateMillis: number, earlier: readonly Outcome[]): Outcome {
  switch (verdict._tag) {
    case 'Decided':
      return E.map(({ balance, held, hold }: Decided) => accepted(userId, balance, held, updateMillis, hold))(verdict.result)
    case 'Recorded': {
      const recorded = verdict.outcome
      // A receipt from before holds existed was recorded with nothing held.
      return replayed(recorded._tag === 'Accepted' ? E.right(accepted(userId, recorded.point, recorded.held ?? 0, recorded.updateMillis, recorded.hold)) : E.left(recorded))
    }
    case 'Repeats':
      return replayed(earlier[verdict.index]!)
  }
}

const accepted = (id: UserId, point: number, held: number, updateMillis: number, hold: HoldView | undefined): Accepted => ({
  id,
  point,
  held,
  available: point - held,
  updateMillis,
  ...(hold === undefined ? {} : { hold }),
})

/** Marks an answer as the repeat of an earlier one; failures that were never recorded stay as they are. */
const replayed = (outcome: Outcome): Outcome =>
  E.isRight(outcome)
    ? E.right({ ...outcome.right, replayed: true })
    : outcome.left._tag === 'Rejection'
      ? E.left({ ...outcome.left, replayed: true })
      : outcome
