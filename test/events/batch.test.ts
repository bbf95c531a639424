import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { answers, planBatch, writesNothing, type BatchContext } from '../../src/events/batch'
import type { Outcome } from '../../src/events/commands'
import { decider, type Decide, type PointState } from '../../src/events/decider'
import { amountOf, IdempotencyKey, rejection, type Command, type PointEvent } from '../../src/events/model'
import type { NewReceipt, Receipt } from '../../src/events/store'
import { amount, userId } from '../support/values'

const limits = { maxAmount: 1_000, maxBalance: 5_000 }
const now = 1_700_000_000_000
const committed = now + 5
const user = userId(7)

const key = (k: string): IdempotencyKey => {
  if (!IdempotencyKey.is(k)) throw new RangeError(`not a key: ${k}`)
  return k
}
const charge = (n: number, k?: string): Command => ({ type: 'Charge', userId: user, amount: amount(n), ...(k === undefined ? {} : { key: key(k) }) })
const use = (n: number, k?: string): Command => ({ type: 'Use', userId: user, amount: amount(n), ...(k === undefined ? {} : { key: key(k) }) })
const charged = (n: number): PointEvent => ({ type: 'CHARGE', userId: user, amount: amount(n), timeMillis: now })
const used = (n: number): PointEvent => ({ type: 'USE', userId: user, amount: amount(n), timeMillis: now })

const accepted = (point: number, replayed?: true): Outcome => E.right({ id: user, point, held: 0, available: point, updateMillis: committed, ...(replayed && { replayed }) })
const refused = (code: Parameters<typeof rejection>[0], replayed?: true): { code: string; replayed?: true } => ({ code, ...(replayed && { replayed }) })

interface Expected {
  /** What the plan asks the store to append. */
  readonly events?: readonly PointEvent[]
  readonly projection?: PointState
  readonly receipts?: ReadonlyArray<Pick<NewReceipt, 'key' | 'fingerprint'> & { outcome: unknown }>
  /** Each command's answer once the plan is committed at `committed`: a balance, or a rejection's code. */
  readonly answers?: ReadonlyArray<Outcome | { code: string; replayed?: true } | 'Defect'>
}

/** given(start state, stored receipts).when(commands...).then(what the plan appends and answers) */
const given = (start: PointState, stored: readonly Receipt[] = [], decide: Decide = decider(limits)) => ({
  when: (...batch: Command[]) => ({
    then: (expected: Expected): void => {
      const context: BatchContext = { userId: user, decide, clock: () => now }
      const plan = planBatch(context, batch, start, new Map(stored.map((r) => [r.key, r])))
      if (expected.events !== undefined) expect(plan.events, 'events').to.deep.equal(expected.events)
      if (expected.projection !== undefined) expect(plan.projection, 'projection').to.deep.equal(expected.projection)
      if (expected.receipts !== undefined) {
        expect(plan.receipts.map(({ key, fingerprint, outcome, userId }) => ({ key, fingerprint, outcome, userId })), 'receipts').to.deep.equal(
          expected.receipts.map((r) => ({ ...r, userId: user })),
        )
      }
      if (expected.answers !== undefined) {
        const got = answers(user, plan.verdicts, committed).map((outcome) =>
          E.isRight(outcome) ? outcome : outcome.left._tag === 'Rejection' ? { code: outcome.left.code, ...(outcome.left.replayed && { replayed: true }) } : outcome.left._tag,
        )
        expect(got, 'answers').to.deep.equal(expected.answers)
      }
    },
  }),
})

const empty: PointState = { balance: 0, version: 0 }

describe('batch planner', function () {
  it('decides each command on the state the ones before it left, and answers each with its own balance', function () {
    given(empty).when(charge(100), use(30), charge(5)).then({
      events: [charged(100), used(30), charged(5)],
      projection: { balance: 75, version: 3 },
      receipts: [],
      answers: [accepted(100), accepted(70), accepted(75)],
    })
  })

  it('appends nothing for a rejected command, and decides the next one on the state before it', function () {
    given({ balance: 10, version: 1 }).when(use(50), use(10)).then({
      events: [used(10)],
      projection: { balance: 0, version: 2 },
      answers: [refused('INSUFFICIENT_BALANCE'), accepted(0)],
    })
  })

  it('counts the holds placed earlier in the same batch against the cap, and frees a place once one is released', function () {
    const hold = (n: number): Command => ({ type: 'Hold', userId: user, amount: amount(n), ttlMillis: 60_000 })
    const release = (holdId: number): Command => ({ type: 'Release', userId: user, holdId })
    const plan = planBatch({ userId: user, decide: decider({ ...limits, maxActiveHolds: 2 }), clock: () => now }, [hold(1), hold(1), hold(1), release(2), hold(1)], { balance: 10, version: 1 }, new Map())
    const codes = answers(user, plan.verdicts, committed).map((outcome) => (E.isLeft(outcome) && outcome.left._tag === 'Rejection' ? outcome.left.code : E.isRight(outcome) ? 'accepted' : outcome.left._tag))
    expect(codes).to.deep.equal(['accepted', 'accepted', 'TOO_MANY_HOLDS', 'accepted', 'accepted'])
    expect(plan.events.map((event) => [event.type, event.ref])).to.deep.equal([['HOLD', 2], ['HOLD', 3], ['RELEASE', 2], ['HOLD', 5]])
  })

  it('writes nothing when every command is rejected and none has a key', function () {
    const plan = planBatch({ userId: user, decide: decider(limits), clock: () => now }, [use(1), charge(2_000)], empty, new Map())
    expect(writesNothing(plan)).to.equal(true)
    expect(plan.projection).to.deep.equal(empty)
  })

  it('records the answer to each keyed command, acceptance or rule rejection, with what makes it the same command', function () {
    given(empty).when(charge(100, 'a'), use(500, 'b'), charge(1)).then({
      events: [charged(100), charged(1)],
      receipts: [
        { key: key('a'), fingerprint: 'Charge:7:100', outcome: { _tag: 'Accepted', point: 100 } },
        { key: key('b'), fingerprint: 'Use:7:500', outcome: rejection('INSUFFICIENT_BALANCE', 'balance 100 is less than 500') },
      ],
      answers: [accepted(100), refused('INSUFFICIENT_BALANCE'), accepted(101)],
    })
  })

  it('answers a repeat of a stored keyed command as it was answered, marked replayed, and appends nothing for it', function () {
    const stored: Receipt[] = [
      { key: key('a'), userId: user, fingerprint: 'Charge:7:100', outcome: { _tag: 'Accepted', point: 100, updateMillis: 42 } },
      { key: key('b'), userId: user, fingerprint: 'Use:7:9', outcome: rejection('INSUFFICIENT_BALANCE', 'no') },
    ]
    given({ balance: 100, version: 1 }, stored).when(charge(100, 'a'), use(9, 'b')).then({
      events: [],
      receipts: [],
      answers: [E.right({ id: user, point: 100, held: 0, available: 100, updateMillis: 42, replayed: true }), refused('INSUFFICIENT_BALANCE', true)],
    })
  })

  it('answers a repeat within the batch with the first answer, replayed, and records the key once', function () {
    given(empty).when(charge(10, 'a'), charge(10, 'a'), charge(1)).then({
      events: [charged(10), charged(1)],
      receipts: [{ key: key('a'), fingerprint: 'Charge:7:10', outcome: { _tag: 'Accepted', point: 10 } }],
      answers: [accepted(10), accepted(10, true), accepted(11)],
    })
  })

  it('refuses a key reused for a different command, without recording or replaying that refusal', function () {
    const stored: Receipt[] = [{ key: key('a'), userId: user, fingerprint: 'Charge:7:100', outcome: { _tag: 'Accepted', point: 100, updateMillis: 42 } }]
    given({ balance: 100, version: 1 }, stored).when(charge(5, 'a'), use(1, 'b'), use(2, 'b')).then({
      events: [used(1)],
      receipts: [{ key: key('b'), fingerprint: 'Use:7:1', outcome: { _tag: 'Accepted', point: 99 } }],
      answers: [refused('IDEMPOTENCY_KEY_REUSED'), accepted(99), refused('IDEMPOTENCY_KEY_REUSED')],
    })
  })

  it('fails a command whose decider throws alone, as a defect that is never recorded', function () {
    const base = decider(limits)
    const throwsOnSeven: Decide = (command, state, time) => {
      if (amountOf(command) === 7) throw new Error('a bug')
      return base(command, state, time)
    }
    given(empty, [], throwsOnSeven).when(charge(7, 'a'), charge(3)).then({
      events: [charged(3)],
      receipts: [],
      answers: ['Defect', accepted(3)],
    })
  })

  it('answers a repeat of a command that failed as a defect with the same defect, not marked as a replay', function () {
    const error = new Error('a bug')
    const throwing: Decide = () => {
      throw error
    }
    const plan = planBatch({ userId: user, decide: throwing, clock: () => now }, [charge(7, 'a'), charge(7, 'a')], empty, new Map())
    const defect = E.left({ _tag: 'Defect', error })
    expect(answers(user, plan.verdicts, committed)).to.deep.equal([defect, defect])
  })

  it('says why a reused key is refused', function () {
    const plan = planBatch({ userId: user, decide: decider(limits), clock: () => now }, [charge(7, 'a'), charge(8, 'a')], empty, new Map())
    expect(answers(user, plan.verdicts, committed)[1]).to.deep.equal(
      E.left({ _tag: 'Rejection', code: 'IDEMPOTENCY_KEY_REUSED', detail: 'this Idempotency-Key was used for a different command' }),
    )
  })
})
