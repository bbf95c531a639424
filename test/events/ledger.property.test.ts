import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import { PointHistoryTable, UserPointTable, type Sleep, type TableOptions } from '../../database'
import type { Outcome } from '../../src/events/commands'
import { decider, initialState, evolve, type Limits } from '../../src/events/decider'
import type { StoredEvent } from '../../src/events/model'
import { replay } from '../../src/projections/balance'
import { createLedger, type Ledger } from '../../src/projections/ledger'
import { MemoryStore } from '../../src/stores/memory'
import { amount, userId } from '../support/values'

// Small limits, so that both kinds of rejection happen often.
const limits: Limits = { maxAmount: 60, maxBalance: 100 }
const users = [1, 2, 3]

interface Step {
  readonly user: number
  readonly type: 'Charge' | 'Use'
  readonly amount: number
}

const step: fc.Arbitrary<Step> = fc.record({
  user: fc.constantFrom(...users),
  type: fc.constantFrom<'Charge' | 'Use'>('Charge', 'Use'),
  amount: fc.integer({ min: 1, max: limits.maxAmount + 10 }),
})
/** Waves of commands: each wave is sent at once, the next after it is answered. */
const waves = fc.array(fc.array(step, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 })

const submit = (ledger: Ledger, s: Step): Promise<Outcome> =>
  (s.type === 'Charge' ? ledger.charge : ledger.use)(userId(s.user), amount(s.amount))()

const ledgerOn = (options: TableOptions): Ledger =>
  createLedger({ store: new MemoryStore(new UserPointTable(options), new PointHistoryTable(options)), limits })

/** What one user at a time, applying the commands in arrival order, would answer. */
const model = (steps: readonly Step[]): Array<number | string> => {
  const decide = decider(limits)
  const states = new Map(users.map((u) => [u, initialState]))
  return steps.map((s) => {
    const state = states.get(s.user)!
    const decided = decide({ type: s.type, userId: userId(s.user), amount: amount(s.amount) }, state, 0)
    if (E.isLeft(decided)) return decided.left.code
    const next = decided.right.reduce(evolve, state)
    states.set(s.user, next)
    return next.balance
  })
}

const seen = (outcome: Outcome): number | string =>
  E.isRight(outcome) ? outcome.right.point : outcome.left._tag === 'Rejection' ? outcome.left.code : outcome.left._tag

const right = <A>(result: E.Either<unknown, A>): A => {
  if (E.isLeft(result)) throw new Error(`expected success, got ${JSON.stringify(result.left)}`)
  return result.right
}

/** The invariants, checked after every run. */
async function expectLedgerConsistent(ledger: Ledger, read: <A>(task: Promise<A>) => Promise<A>): Promise<void> {
  for (const user of users) {
    const history: StoredEvent[] = right(await read(ledger.history(userId(user))()))
    const balance = right(await read(ledger.balance(userId(user))()))
    expect(balance.point, `user ${user}: balance vs replay(history)`).to.equal(replay(history).balance)
    let total = 0
    for (const event of history) {
      total += event.type === 'CHARGE' ? event.amount : 0 - event.amount
      expect(total, `user ${user}: a prefix of the log`).to.be.within(0, limits.maxBalance)
    }
  }
  expect(ledger.commands.activeWriters).to.equal(0)
}

describe('ledger properties', function () {
  it('for any commands on the given tables (1–3 ms delays): balance = replay(history), every prefix within limits, answers as if one at a time', async function () {
    await fc.assert(
      fc.asyncProperty(waves, async (plan) => {
        const delay = { min: 1, max: 3 }
        const ledger = ledgerOn({ readDelay: delay, writeDelay: delay })
        const answers: Array<number | string> = []
        for (const wave of plan) answers.push(...(await Promise.all(wave.map((s) => submit(ledger, s)))).map(seen))
        expect(answers).to.deep.equal(model(plan.flat()))
        await expectLedgerConsistent(ledger, (task) => task)
      }),
      { numRuns: 25 },
    )
  })

  it('for any order in which the tables complete their calls, the same holds (fast-check scheduler)', async function () {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(step, { minLength: 1, maxLength: 20 }), async (s, steps) => {
        // Each table call waits for the scheduler, which releases them in an order it picks.
        const sleep: Sleep = (ms) => s.schedule(Promise.resolve(), `table call (${ms} ms)`)
        const delay = { min: 1, max: 3 }
        const ledger = ledgerOn({ readDelay: delay, writeDelay: delay, sleep })
        const outcomes = await s.waitFor(Promise.all(steps.map((st) => submit(ledger, st))))
        expect(outcomes.map(seen)).to.deep.equal(model(steps))
        await expectLedgerConsistent(ledger, (task) => s.waitFor(task))
      }),
      { numRuns: 150 },
    )
  })
})
