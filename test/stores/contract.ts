import { expect } from 'chai'
import * as fc from 'fast-check'
import * as E from 'fp-ts/Either'
import { delta } from '../../src/events/decider'
import { IdempotencyKey, rejection, type PointEvent } from '../../src/events/model'
import type { NewReceipt, PointStore } from '../../src/events/store'
import { createReads } from '../../src/projections/reads'
import { createLedger } from '../../src/projections/ledger'
import { amount, userId } from '../support/values'

/** What a contract test may ask of a fresh store: a clock it moves by hand, a receipt window. */
export interface FixtureOptions {
  readonly clock?: () => number
  readonly receiptRetentionMillis?: number
}

export interface StoreFixture {
  readonly store: PointStore
  /** Releases whatever the store holds (files, connections). */
  readonly dispose: () => Promise<void>
}

const charge = (user: number, n: number, timeMillis = 1_000): PointEvent => ({
  type: 'CHARGE',
  userId: userId(user),
  amount: amount(n),
  timeMillis,
})
const use = (user: number, n: number, timeMillis = 1_000): PointEvent => ({ ...charge(user, n, timeMillis), type: 'USE' })

const key = (k: string): IdempotencyKey => {
  if (!IdempotencyKey.is(k)) throw new RangeError(`not a key: ${k}`)
  return k
}

const right = <A>(result: E.Either<unknown, A>): A => {
  if (E.isLeft(result)) throw new Error(`expected success, got ${JSON.stringify(result.left)}`)
  return result.right
}

/**
 * What every store must do to stand behind the port. Each adapter's test file
 * calls this with a factory that makes a fresh, empty store.
 */
export function storeContract(name: string, fixture: (options?: FixtureOptions) => Promise<StoreFixture>): void {
  describe(`store contract: ${name}`, function () {
    let current: StoreFixture
    let store: PointStore
    /** The store's time, moved by hand; starts well past zero so that "a window ago" is a real instant. */
    let now: number
    const window = 60_000

    beforeEach(async function () {
      now = 1_700_000_000_000
      current = await fixture({ clock: () => now, receiptRetentionMillis: window })
      store = current.store
    })
    afterEach(async function () {
      await current.dispose()
    })

    it('knows nothing of a user it has never seen', async function () {
      expect(right(await store.load(userId(7))())).to.deep.equal({ balance: 0, version: 0 })
      expect(right(await store.history(userId(7))())).to.deep.equal([])
      const balance = right(await store.balance(userId(7))())
      expect(balance).to.include({ id: 7, point: 0 })
      expect(balance.updateMillis).to.be.a('number')
    })

    it('appends a batch in order and projects it', async function () {
      const events = [charge(1, 500, 10), use(1, 200, 11), charge(1, 50, 12)]
      const projected = right(await store.append(userId(1), 0, { events, projection: { balance: 350, version: 3 }, receipts: [] })())
      expect(projected).to.include({ id: 1, point: 350 })

      const history = right(await store.history(userId(1))())
      expect(history.map(({ type, amount, timeMillis, userId }) => ({ type, amount, timeMillis, userId }))).to.deep.equal(events)
      const ids = history.map((e) => e.id)
      expect(ids).to.deep.equal([...ids].sort((a, b) => a - b))
      expect(new Set(ids).size).to.equal(3)

      expect(right(await store.balance(userId(1))())).to.include({ id: 1, point: 350 })
      expect(right(await store.load(userId(1))())).to.deep.equal({ balance: 350, version: 3 })
    })

    it('continues a log across batches', async function () {
      right(await store.append(userId(1), 0, { events: [charge(1, 100)], projection: { balance: 100, version: 1 }, receipts: [] })())
      right(await store.append(userId(1), 1, { events: [use(1, 30), use(1, 20)], projection: { balance: 50, version: 3 }, receipts: [] })())
      expect(right(await store.load(userId(1))())).to.deep.equal({ balance: 50, version: 3 })
      expect((right(await store.history(userId(1))())).map((e) => e.amount)).to.deep.equal([100, 30, 20])
    })

    it('refuses a batch written against a stale version, and writes nothing of it', async function () {
      right(await store.append(userId(1), 0, { events: [charge(1, 100)], projection: { balance: 100, version: 1 }, receipts: [] })())
      const stale = await store.append(userId(1), 0, { events: [charge(1, 5)], projection: { balance: 5, version: 1 }, receipts: [] })()
      expect(E.isLeft(stale) && stale.left._tag).to.equal('VersionConflict')
      expect(right(await store.history(userId(1))())).to.have.length(1)
      expect(right(await store.balance(userId(1))())).to.include({ point: 100 })
    })

    it('reads a history in pages and up to a moment', async function () {
      const events = [charge(1, 10, 100), charge(1, 20, 200), use(1, 5, 300), charge(1, 40, 400)]
      right(await store.append(userId(1), 0, { events, projection: { balance: 65, version: 4 }, receipts: [] })())
      const all = right(await store.history(userId(1))())
      const ids = all.map((e) => e.id)

      const first = right(await store.history(userId(1), { limit: 2 })())
      expect(first.map((e) => e.id)).to.deep.equal(ids.slice(0, 2))
      const rest = right(await store.history(userId(1), { after: ids[1], limit: 10 })())
      expect(rest.map((e) => e.id)).to.deep.equal(ids.slice(2))

      const untilThird = right(await store.history(userId(1), { until: 300 })())
      expect(untilThird.map((e) => e.amount)).to.deep.equal([10, 20, 5])
      expect(right(await store.history(userId(1), { until: 99 })())).to.deep.equal([])
    })

    it('keeps the receipts of a batch with its events, and finds them by key', async function () {
      const accepted: NewReceipt = { key: key('k-accepted'), userId: userId(1), fingerprint: 'Charge:1:100', outcome: { _tag: 'Accepted', point: 100 } }
      const refused: NewReceipt = {
        key: key('k-refused'),
        userId: userId(1),
        fingerprint: 'Use:1:500',
        outcome: rejection('INSUFFICIENT_BALANCE', 'balance 100 is less than 500'),
      }
      const written = right(await store.append(userId(1), 0, { events: [charge(1, 100)], projection: { balance: 100, version: 1 }, receipts: [accepted, refused] })())
      const found = right(await store.receipts(userId(1), [key('k-accepted'), key('k-refused'), key('k-unknown')])())
      expect(found.sort((a, b) => a.key.localeCompare(b.key))).to.deep.equal([
        { ...accepted, outcome: { _tag: 'Accepted', point: 100, updateMillis: written.updateMillis } },
        refused,
      ])
    })

    it('records a batch of keyed rejections alone without touching the log or the projection', async function () {
      right(await store.append(userId(1), 0, { events: [charge(1, 100)], projection: { balance: 100, version: 1 }, receipts: [] })())
      const before = right(await store.balance(userId(1))())
      const refused: NewReceipt = { key: key('k-only'), userId: userId(1), fingerprint: 'Use:1:500', outcome: rejection('INSUFFICIENT_BALANCE', 'no') }
      right(await store.append(userId(1), 1, { events: [], projection: { balance: 100, version: 1 }, receipts: [refused] })())
      expect(right(await store.receipts(userId(1), [key('k-only')])())).to.have.length(1)
      expect(right(await store.history(userId(1))())).to.have.length(1)
      expect(right(await store.balance(userId(1))())).to.deep.equal(before)
      expect(right(await store.load(userId(1))())).to.deep.equal({ balance: 100, version: 1 })
    })

    it('refuses a key the same user has recorded already, as a lost race, and writes nothing of that batch', async function () {
      const first: NewReceipt = { key: key('k-taken'), userId: userId(1), fingerprint: 'Charge:1:5', outcome: { _tag: 'Accepted', point: 5 } }
      right(await store.append(userId(1), 0, { events: [charge(1, 5)], projection: { balance: 5, version: 1 }, receipts: [first] })())
      // A writer that did not see the receipt: its version is right, its key is not free.
      const clash = await store.append(userId(1), 1, { events: [charge(1, 6)], projection: { balance: 11, version: 2 }, receipts: [{ ...first, fingerprint: 'Charge:1:6' }] })()
      expect(E.isLeft(clash) && clash.left._tag).to.equal('VersionConflict')
      expect(right(await store.history(userId(1))()).map((e) => e.amount)).to.deep.equal([5])
      expect(right(await store.receipts(userId(1), [key('k-taken')])())).to.have.length(1).and.to.have.nested.property('[0].fingerprint', 'Charge:1:5')
    })

    it('keeps keys per user: the same key on another user is its own receipt, and neither finds the other', async function () {
      const mine: NewReceipt = { key: key('k'), userId: userId(1), fingerprint: 'Charge:1:5', outcome: { _tag: 'Accepted', point: 5 } }
      const theirs: NewReceipt = { key: key('k'), userId: userId(2), fingerprint: 'Charge:2:9', outcome: { _tag: 'Accepted', point: 9 } }
      right(await store.append(userId(1), 0, { events: [charge(1, 5)], projection: { balance: 5, version: 1 }, receipts: [mine] })())
      expect(right(await store.receipts(userId(2), [key('k')])())).to.deep.equal([])
      right(await store.append(userId(2), 0, { events: [charge(2, 9)], projection: { balance: 9, version: 1 }, receipts: [theirs] })())
      expect(right(await store.receipts(userId(1), [key('k')])()).map((r) => r.fingerprint)).to.deep.equal(['Charge:1:5'])
      expect(right(await store.receipts(userId(2), [key('k')])()).map((r) => r.fingerprint)).to.deep.equal(['Charge:2:9'])
      expect(right(await store.history(userId(2))()).map((e) => e.amount)).to.deep.equal([9])
    })

    it('finds a receipt until its window has passed, pruned or not, then takes the key as new', async function () {
      const first: NewReceipt = { key: key('k-old'), userId: userId(1), fingerprint: 'Charge:1:5', outcome: { _tag: 'Accepted', point: 5 } }
      right(await store.append(userId(1), 0, { events: [charge(1, 5)], projection: { balance: 5, version: 1 }, receipts: [first] })())
      const recordedAt = now
      now = recordedAt + window - 1
      expect(right(await store.receipts(userId(1), [key('k-old')])())).to.have.length(1)
      now = recordedAt + window
      expect(right(await store.receipts(userId(1), [key('k-old')])())).to.deep.equal([])
      const again: NewReceipt = { ...first, fingerprint: 'Charge:1:7', outcome: { _tag: 'Accepted', point: 12 } }
      right(await store.append(userId(1), 1, { events: [charge(1, 7)], projection: { balance: 12, version: 2 }, receipts: [again] })())
      expect(right(await store.receipts(userId(1), [key('k-old')])()).map((r) => r.fingerprint)).to.deep.equal(['Charge:1:7'])
    })

    it('replays a retry just inside the window, and takes one just after it as a new command', async function () {
      const ledger = createLedger({ store, limits: { maxAmount: 1_000, maxBalance: 10_000 }, clock: () => now })
      const first = right(await ledger.charge(userId(3), amount(10), key('order-1'))())
      now += window - 1
      expect(right(await ledger.charge(userId(3), amount(10), key('order-1'))())).to.deep.equal({ ...first, replayed: true })
      now += 1
      const late = right(await ledger.charge(userId(3), amount(10), key('order-1'))())
      expect(late).to.include({ point: 20 }).and.not.have.property('replayed')
      expect(right(await ledger.charge(userId(3), amount(10), key('order-1'))())).to.deep.equal({ ...late, replayed: true })
      expect(right(await store.history(userId(3))()).map((e) => e.amount)).to.deep.equal([10, 10])
    })

    it('keeps users apart', async function () {
      right(await store.append(userId(1), 0, { events: [charge(1, 100)], projection: { balance: 100, version: 1 }, receipts: [] })())
      right(await store.append(userId(2), 0, { events: [charge(2, 7)], projection: { balance: 7, version: 1 }, receipts: [] })())
      expect((right(await store.history(userId(2))())).map((e) => e.userId)).to.deep.equal([2])
      expect(right(await store.load(userId(1))())).to.deep.equal({ balance: 100, version: 1 })
      expect(right(await store.balance(userId(2))())).to.include({ point: 7 })
    })

    it('takes batches for many users at once', async function () {
      const users = Array.from({ length: 20 }, (_, i) => i + 1)
      const results = await Promise.all(
        users.map((u) => store.append(userId(u), 0, { events: [charge(u, u)], projection: { balance: u, version: 1 }, receipts: [] })()),
      )
      results.forEach(right)
      for (const u of users) expect(right(await store.balance(userId(u))())).to.include({ point: u })
    })

    it('answers a balance with the holds active then, now by its clock and as of a moment, one read or two', async function () {
      const hold = (ref: number, n: number, timeMillis: number, expiresAt: number): PointEvent => ({ ...charge(1, n, timeMillis), type: 'HOLD', ref, expiresAt })
      const events: PointEvent[] = [
        charge(1, 100, 10),
        hold(2, 30, 20, now + window),
        // Past its expiry by the clock, and at 45, but no EXPIRE written: the reader's clock decides.
        hold(3, 20, 30, 40),
        hold(4, 5, 35, now + window),
        { ...charge(1, 5, 50), type: 'RELEASE', ref: 4 },
      ]
      right(await store.append(userId(1), 0, { events, projection: { balance: 100, version: 5 }, receipts: [] })())
      const reads = createReads(store, () => now)
      const funds = ({ point, held, available }: { point: number; held: number; available: number }) => ({ point, held, available })
      expect(funds(right(await reads.balance(userId(1))()))).to.deep.equal({ point: 100, held: 30, available: 70 })
      expect(funds(right(await reads.balance(userId(9))()))).to.deep.equal({ point: 0, held: 0, available: 0 })
      // Funds only: the memory store's history has no rows for holds, so its `updateMillis` as of a moment is the last movement's.
      expect(funds(right(await reads.balanceAt(userId(1), 36)()))).to.deep.equal({ point: 100, held: 55, available: 45 })
      expect(funds(right(await reads.balanceAt(userId(1), 45)()))).to.deep.equal({ point: 100, held: 35, available: 65 })
      expect(funds(right(await reads.balanceAt(userId(1), 50)()))).to.deep.equal({ point: 100, held: 30, available: 70 })
      expect(right(await reads.balanceAt(userId(1), 5)())).to.deep.equal({ id: 1, point: 0, held: 0, available: 0, updateMillis: 5 })
      // A store that reads both at once answers what its two reads do, in the same order.
      const together = store.balanceWithHolds?.bind(store)
      if (together === undefined) return
      for (const [user, at] of [[1, undefined], [9, undefined], [1, 5], [1, 20], [1, 36], [1, 45], [1, 50], [9, 50]] as const) {
        const point = right(await (at === undefined ? store.balance(userId(user)) : store.balanceAt!(userId(user), at))())
        expect(right(await together(userId(user), at)())).to.deep.equal({ point, holds: right(await store.holds(userId(user), at)()) })
      }
    })

    describe('point-in-time balance', function () {
      const at = async (user: number, moment: number) => {
        // Nothing is held here: the fields holds add are checked with the holds.
        const { held, available, ...point } = right(await createReads(store).balanceAt(userId(user), moment)())
        expect({ held, available }).to.deep.equal({ held: 0, available: point.point })
        return point
      }

      beforeEach(async function () {
        // Two events at 20, a batch boundary between 20 and 30, and another user in between who must not count.
        right(await store.append(userId(1), 0, { events: [charge(1, 100, 10), use(1, 30, 20), charge(1, 5, 20)], projection: { balance: 75, version: 3 }, receipts: [] })())
        right(await store.append(userId(2), 0, { events: [charge(2, 1_000, 25)], projection: { balance: 1_000, version: 1 }, receipts: [] })())
        right(await store.append(userId(1), 3, { events: [use(1, 10, 30)], projection: { balance: 65, version: 4 }, receipts: [] })())
      })

      it('is 0 as of `at` itself before the first event', async function () {
        expect(await at(1, 9)).to.deep.equal({ id: 1, point: 0, updateMillis: 9 })
        expect(await at(3, 50)).to.deep.equal({ id: 3, point: 0, updateMillis: 50 })
      })

      it('is the balance after the last event at or before `at`, stamped with that event', async function () {
        expect(await at(1, 10)).to.deep.equal({ id: 1, point: 100, updateMillis: 10 })
        expect(await at(1, 15)).to.deep.equal({ id: 1, point: 100, updateMillis: 10 })
        expect(await at(1, 29)).to.deep.equal({ id: 1, point: 75, updateMillis: 20 })
        expect(await at(2, 29)).to.deep.equal({ id: 2, point: 1_000, updateMillis: 25 })
      })

      it('counts every event of a moment that several share', async function () {
        expect(await at(1, 20)).to.deep.equal({ id: 1, point: 75, updateMillis: 20 })
      })

      it('is the current balance after the last event', async function () {
        expect(await at(1, 30)).to.deep.equal({ id: 1, point: 65, updateMillis: 30 })
        expect(await at(1, Number.MAX_SAFE_INTEGER)).to.deep.equal({ id: 1, point: 65, updateMillis: 30 })
        expect(right(await store.balance(userId(1))())).to.include({ point: 65 })
      })
    })

    it('answers a point-in-time read as the fold of the history up to it, whatever times the writer gave, a clock stepping back included', async function () {
      let user = 100
      const batches = fc.array(fc.array(fc.record({ amount: fc.integer({ min: 1, max: 50 }), time: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 })
      await fc.assert(
        fc.asyncProperty(batches, fc.array(fc.integer({ min: -1, max: 45 }), { minLength: 1, maxLength: 6 }), async (given, moments) => {
          const id = userId(++user)
          let state = { balance: 0, version: 0 }
          for (const batch of given) {
            const events = batch.map(({ amount: n, time }) => charge(id, n, time))
            const projection = events.reduce((s, e) => ({ balance: s.balance + delta(e), version: s.version + 1 }), state)
            right(await store.append(id, state.version, { events, projection, receipts: [] })())
            state = projection
          }
          const history = right(await store.history(id)())
          for (const moment of moments.map((m) => Math.max(m, 0))) {
            const upTo = history.filter((e) => e.timeMillis <= moment)
            expect(await at(id, moment)).to.deep.equal({ id, point: upTo.reduce((sum, e) => sum + delta(e), 0), updateMillis: upTo.at(-1)?.timeMillis ?? moment })
          }
        }),
        { numRuns: 25 },
      )
      async function at(id: number, moment: number) {
        const { held, available, ...point } = right(await createReads(store).balanceAt(userId(id), moment)())
        expect({ held, available }).to.deep.equal({ held: 0, available: point.point })
        return point
      }
    })
  })
}
