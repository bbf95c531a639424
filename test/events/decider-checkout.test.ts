import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { decider, evolve, evolveReferences, heldAt, initialState, noReferences, type References } from '../../src/events/decider'
import type { Command, EndingType, PointEvent, RejectionCode } from '../../src/events/model'
import { amount, userId } from '../support/values'

const limits = { maxAmount: 1_000, maxBalance: 5_000, maxHoldTtlMillis: 60_000 }
const decide = decider(limits)
const now = 1_700_000_000_000
const user = userId(7)

const event = (type: PointEvent['type'], n: number, extra: Partial<PointEvent> = {}, timeMillis = now - 1_000): PointEvent => ({
  type,
  userId: user,
  amount: amount(n),
  timeMillis,
  ...extra,
})
const charged = (n: number) => event('CHARGE', n)
const used = (n: number) => event('USE', n)
/** A hold placed as the user's `version`-th event, expiring `inMillis` from now. */
const placed = (holdId: number, n: number, inMillis = 30_000) => event('HOLD', n, { ref: holdId, expiresAt: now + inMillis })

/** What the store would find for the batch's references: uses by id, and holds that ended. */
const refs = (uses: Record<number, [number, number]> = {}, ended: Record<number, EndingType> = {}): References => ({
  uses: new Map(Object.entries(uses).map(([id, [n, refunded]]) => [Number(id), { amount: n, refunded }])),
  ended: new Map(Object.entries(ended).map(([id, type]) => [Number(id), type])),
})

/** given(past events, references).when(command).then(new events | rejection code) */
const given = (history: readonly PointEvent[], references: References = noReferences) => ({
  when: (command: Command) => ({
    then: (expected: readonly PointEvent[] | RejectionCode): void => {
      const outcome = decide(command, history.reduce(evolve, initialState), now, references)
      if (typeof expected === 'string') expect(E.isLeft(outcome) && outcome.left, 'rejection').to.include({ _tag: 'Rejection', code: expected })
      else expect(outcome).to.deep.equal(E.right(expected))
    },
  }),
})

const refund = (useId: number, n: number): Command => ({ type: 'Refund', userId: user, useId, amount: amount(n) })
const hold = (n: number, ttlMillis = 30_000): Command => ({ type: 'Hold', userId: user, amount: amount(n), ttlMillis })
const capture = (holdId: number, n?: number): Command => ({ type: 'Capture', userId: user, holdId, ...(n === undefined ? {} : { amount: amount(n) }) })
const release = (holdId: number): Command => ({ type: 'Release', userId: user, holdId })
const expire = (holdId: number): Command => ({ type: 'Expire', userId: user, holdId })
const use = (n: number): Command => ({ type: 'Use', userId: user, amount: amount(n) })

describe('decider: refunds and holds', function () {
  describe('refund', function () {
    it('gives back part of a use as one REFUND event linked to it, stamped with the time given', function () {
      given([charged(500), used(300)], refs({ 42: [300, 0] })).when(refund(42, 100)).then([event('REFUND', 100, { ref: 42 }, now)])
    })

    it('gives back exactly what is left of a use after earlier refunds, and not one point more', function () {
      given([charged(500), used(300)], refs({ 42: [300, 200] })).when(refund(42, 100)).then([event('REFUND', 100, { ref: 42 }, now)])
      given([charged(500), used(300)], refs({ 42: [300, 200] })).when(refund(42, 101)).then('REFUND_EXCEEDS_USE')
    })

    it('is refused for an event that is not a use of this user', function () {
      given([charged(500)], refs()).when(refund(1, 10)).then('USE_NOT_FOUND')
    })

    it('is not refused for the maximum balance: it returns points the user held', function () {
      given([charged(5_000), used(1_000), charged(1_000)], refs({ 2: [1_000, 0] })).when(refund(2, 1_000)).then([event('REFUND', 1_000, { ref: 2 }, now)])
    })

    it('is held to the per-transaction limit', function () {
      given([charged(5_000)], refs({ 2: [5_000, 0] })).when(refund(2, 1_001)).then('AMOUNT_LIMIT_EXCEEDED')
    })

    it('adds to the balance, and to what the references say is refunded, for the next refund of the batch', function () {
      const after = evolveReferences(refs({ 42: [300, 0] }), event('REFUND', 120, { ref: 42 }))
      expect(after.uses.get(42)).to.deep.equal({ amount: 300, refunded: 120 })
      expect([charged(10), used(10), event('REFUND', 4, { ref: 2 })].reduce(evolve, initialState)).to.deep.equal({ balance: 4, version: 3 })
    })
  })

  describe('hold', function () {
    it('reserves points as one HOLD event named by its version, expiring after its ttl', function () {
      given([charged(500)]).when(hold(200)).then([event('HOLD', 200, { ref: 2, expiresAt: now + 30_000 }, now)])
    })

    it('needs available, not the balance, to cover it, as a use does', function () {
      given([charged(500), placed(2, 300)]).when(hold(201)).then('INSUFFICIENT_BALANCE')
      given([charged(500), placed(2, 300)]).when(use(201)).then('INSUFFICIENT_BALANCE')
      given([charged(500), placed(2, 300)]).when(use(200)).then([event('USE', 200, {}, now)])
    })

    it('counts a hold past its expiry as released at once, before anything is written', function () {
      const state = [charged(500), placed(2, 300, -1)].reduce(evolve, initialState)
      expect(heldAt(state, now)).to.equal(0)
      given([charged(500), placed(2, 300, 0)]).when(use(500)).then([event('USE', 500, {}, now)])
      given([charged(500), placed(2, 300, 1)]).when(use(500)).then('INSUFFICIENT_BALANCE')
    })

    it('is refused over the maximum ttl, and accepted at it', function () {
      given([charged(500)]).when(hold(1, 60_001)).then('HOLD_TTL_EXCEEDED')
      given([charged(500)]).when(hold(1, 60_000)).then([event('HOLD', 1, { ref: 2, expiresAt: now + 60_000 }, now)])
    })

    it('is refused past the most active holds a user may have, counting neither resolved nor expired ones', function () {
      const capped = decider({ ...limits, maxActiveHolds: 2 })
      const decideAfter = (history: readonly PointEvent[]) => capped(hold(1), history.reduce(evolve, initialState), now, noReferences)
      const two = [charged(500), placed(2, 10), placed(3, 10)]
      const refused = decideAfter(two)
      expect(E.isLeft(refused) && refused.left).to.include({ _tag: 'Rejection', code: 'TOO_MANY_HOLDS' })
      // Once one of them is released, or past its expiry, there is room for another.
      expect(decideAfter([...two, event('RELEASE', 10, { ref: 2 })])).to.deep.equal(E.right([event('HOLD', 1, { ref: 5, expiresAt: now + 30_000 }, now)]))
      expect(decideAfter([charged(500), placed(2, 10, 0), placed(3, 10)])).to.deep.equal(E.right([event('HOLD', 1, { ref: 4, expiresAt: now + 30_000 }, now)]))
      // The default is 100.
      const hundred = [charged(500), ...Array.from({ length: 100 }, (_, i) => placed(i + 2, 1))]
      given(hundred).when(hold(1)).then('TOO_MANY_HOLDS')
      given(hundred.slice(0, 100)).when(hold(1)).then([event('HOLD', 1, { ref: 101, expiresAt: now + 30_000 }, now)])
    })

    it('moves no points: the balance stays, and the state keeps the hold until it is resolved', function () {
      const state = [charged(500), placed(2, 300)].reduce(evolve, initialState)
      expect(state).to.deep.equal({ balance: 500, version: 2, holds: new Map([[2, { amount: 300, expiresAt: now + 30_000 }]]) })
      expect([charged(500), placed(2, 300), event('RELEASE', 300, { ref: 2 })].reduce(evolve, initialState)).to.deep.equal({ balance: 500, version: 3 })
    })
  })

  describe('capture', function () {
    it('takes the whole hold when no amount is named, as one CAPTURE event', function () {
      given([charged(500), placed(2, 300)]).when(capture(2)).then([event('CAPTURE', 300, { ref: 2 }, now)])
    })

    it('takes part of the hold, the one event ending it and freeing the rest', function () {
      given([charged(500), placed(2, 300)]).when(capture(2, 120)).then([event('CAPTURE', 120, { ref: 2 }, now)])
      const state = [charged(500), placed(2, 300), event('CAPTURE', 120, { ref: 2 })].reduce(evolve, initialState)
      expect(state).to.deep.equal({ balance: 380, version: 3 })
    })

    it('is refused over its hold', function () {
      given([charged(500), placed(2, 300)]).when(capture(2, 301)).then('CAPTURE_EXCEEDS_HOLD')
    })

    it('loses to an expiry, recorded or not: a hold at its expiry is resolved', function () {
      given([charged(500), placed(2, 300, 0)]).when(capture(2)).then('HOLD_ALREADY_RESOLVED')
      given([charged(500)], refs({}, { 2: 'EXPIRE' })).when(capture(2)).then('HOLD_ALREADY_RESOLVED')
    })

    it('loses to a release, and a release to a capture', function () {
      given([charged(500)], refs({}, { 2: 'RELEASE' })).when(capture(2)).then('HOLD_ALREADY_RESOLVED')
      given([charged(500)], refs({}, { 2: 'CAPTURE' })).when(release(2)).then('HOLD_ALREADY_RESOLVED')
    })

    it('is refused for a hold the user never placed', function () {
      given([charged(500)]).when(capture(9)).then('HOLD_NOT_FOUND')
      given([charged(500)]).when(release(9)).then('HOLD_NOT_FOUND')
    })
  })

  describe('release and expiry', function () {
    it('releases the whole hold as one RELEASE event', function () {
      given([charged(500), placed(2, 300)]).when(release(2)).then([event('RELEASE', 300, { ref: 2 }, now)])
    })

    it('records the expiry of a hold at or past its expiry, and writes nothing for one not yet due or gone', function () {
      given([charged(500), placed(2, 300, 0)]).when(expire(2)).then([event('EXPIRE', 300, { ref: 2 }, now)])
      given([charged(500), placed(2, 300, 1)]).when(expire(2)).then([])
      given([charged(500)]).when(expire(2)).then([])
    })

    it('remembers in the references how a hold of the batch ended, so a later command of it loses with 409', function () {
      expect(evolveReferences(noReferences, event('CAPTURE', 1, { ref: 2 })).ended.get(2)).to.equal('CAPTURE')
    })
  })
})
