import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import { decider, evolve, initialState, type PointState } from '../../src/events/decider'
import type { Command, PointEvent, RejectionCode } from '../../src/events/model'
import { amount, userId } from '../support/values'

const limits = { maxAmount: 1_000, maxBalance: 5_000 }
const decide = decider(limits)
const now = 1_700_000_000_000
const user = userId(7)

const charged = (n: number): PointEvent => ({ type: 'CHARGE', userId: user, amount: amount(n), timeMillis: 1 })
const used = (n: number): PointEvent => ({ type: 'USE', userId: user, amount: amount(n), timeMillis: 2 })
const charge = (n: number): Command => ({ type: 'Charge', userId: user, amount: amount(n) })
const use = (n: number): Command => ({ type: 'Use', userId: user, amount: amount(n) })

/** The events the decider is expected to emit when `command` is accepted now. */
const chargedNow = (n: number): PointEvent => ({ ...charged(n), timeMillis: now })
const usedNow = (n: number): PointEvent => ({ ...used(n), timeMillis: now })

/** given(past events).when(command).then(new events | rejection code) */
const given = (history: readonly PointEvent[]) => ({
  when: (command: Command) => ({
    then: (expected: readonly PointEvent[] | RejectionCode): void => {
      const outcome = decide(command, history.reduce(evolve, initialState), now)
      if (typeof expected === 'string') {
        expect(E.isLeft(outcome) && outcome.left, 'rejection').to.include({ _tag: 'Rejection', code: expected })
      } else {
        expect(outcome).to.deep.equal(E.right(expected))
      }
    },
  }),
})

describe('decider', function () {
  describe('evolve and initialState', function () {
    it('starts every user at balance 0, version 0', function () {
      expect(initialState).to.deep.equal({ balance: 0, version: 0 })
    })

    it('adds a charge, subtracts a use and counts each event as a version', function () {
      const state = [charged(500), used(200), charged(50)].reduce(evolve, initialState)
      expect(state).to.deep.equal({ balance: 350, version: 3 })
    })

    it('does not change the state it is given', function () {
      const before: PointState = { balance: 10, version: 1 }
      evolve(before, used(10))
      expect(before).to.deep.equal({ balance: 10, version: 1 })
    })
  })

  describe('charge', function () {
    it('is accepted from nothing, as one CHARGE event stamped with the time given', function () {
      given([]).when(charge(100)).then([chargedNow(100)])
    })

    it('is accepted at exactly the per-transaction limit', function () {
      given([]).when(charge(limits.maxAmount)).then([chargedNow(limits.maxAmount)])
    })

    it('is refused one over the per-transaction limit', function () {
      given([]).when(charge(limits.maxAmount + 1)).then('AMOUNT_LIMIT_EXCEEDED')
    })

    it('is accepted when it takes the balance exactly to the maximum', function () {
      given([charged(1_000), charged(1_000), charged(1_000), charged(1_000), charged(900)])
        .when(charge(100))
        .then([chargedNow(100)])
    })

    it('is refused when it would take the balance one over the maximum', function () {
      given([charged(1_000), charged(1_000), charged(1_000), charged(1_000), charged(1_000)])
        .when(charge(1))
        .then('BALANCE_LIMIT_EXCEEDED')
    })

    it('counts uses when checking the maximum', function () {
      given([charged(1_000), charged(1_000), charged(1_000), charged(1_000), charged(1_000), used(300)])
        .when(charge(300))
        .then([chargedNow(300)])
    })

    it('reports the amount limit before the balance limit', function () {
      given([charged(1_000), charged(1_000), charged(1_000), charged(1_000), charged(1_000)])
        .when(charge(limits.maxAmount + 1))
        .then('AMOUNT_LIMIT_EXCEEDED')
    })
  })

  describe('use', function () {
    it('is accepted when it takes the balance exactly to 0', function () {
      given([charged(300)]).when(use(300)).then([usedNow(300)])
    })

    it('is refused when it would take the balance below 0', function () {
      given([charged(300)]).when(use(301)).then('INSUFFICIENT_BALANCE')
    })

    it('is refused for a user with no events', function () {
      given([]).when(use(1)).then('INSUFFICIENT_BALANCE')
    })

    it('counts earlier uses', function () {
      given([charged(500), used(400)]).when(use(101)).then('INSUFFICIENT_BALANCE')
    })

    it('is accepted at exactly the per-transaction limit', function () {
      given([charged(1_000), charged(1_000)]).when(use(limits.maxAmount)).then([usedNow(limits.maxAmount)])
    })

    it('is refused one over the per-transaction limit, even with the balance to cover it', function () {
      given([charged(1_000), charged(1_000)]).when(use(limits.maxAmount + 1)).then('AMOUNT_LIMIT_EXCEEDED')
    })
  })

  it('throws on a command of a type it has no rules for, a programmer error the writer fails as a defect', function () {
    const unknown = { type: 'Gift', userId: user, amount: amount(1) } as unknown as Command
    expect(() => decide(unknown, initialState, now)).to.throw()
  })

  describe('a rejection\'s detail', function () {
    const detailOf = (history: readonly PointEvent[], command: Command): string => {
      const outcome = decide(command, history.reduce(evolve, initialState), now)
      if (E.isRight(outcome)) throw new Error('expected a rejection')
      return outcome.left.detail
    }

    it('names the amount and the per-transaction limit', function () {
      expect(detailOf([], charge(1_001))).to.equal('amount 1001 is over the per-transaction limit of 1000')
    })

    it('names the balance, the amount and the maximum balance', function () {
      expect(detailOf([charged(1_000), charged(1_000), charged(1_000), charged(1_000), charged(900)], charge(101))).to.equal(
        'balance 4900 plus 101 would exceed the maximum of 5000',
      )
    })

    it('names the balance and the amount a use needed', function () {
      expect(detailOf([charged(300)], use(301))).to.equal('balance 300 is less than 301')
    })
  })

  it('never leaves the balance below 0 or above the maximum, whatever it accepts', function () {
    const state = fc.record({ balance: fc.integer({ min: 0, max: limits.maxBalance }), version: fc.nat(100) })
    const command = fc.record({
      type: fc.constantFrom<'Charge' | 'Use'>('Charge', 'Use'),
      userId: fc.constant(user),
      amount: fc.integer({ min: 1, max: 2 * limits.maxAmount }).map(amount),
    })
    fc.assert(
      fc.property(state, command, (before, cmd) => {
        const outcome = decide(cmd, before, now)
        const after = E.isRight(outcome) ? outcome.right.reduce(evolve, before) : before
        expect(after.balance).to.be.within(0, limits.maxBalance)
        const fits = cmd.amount <= limits.maxAmount
        const covered = cmd.type === 'Use' ? before.balance >= cmd.amount : before.balance + cmd.amount <= limits.maxBalance
        expect(E.isRight(outcome), 'accepted').to.equal(fits && covered)
      }),
    )
  })
})
