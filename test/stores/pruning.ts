import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { IdempotencyKey } from '../../src/events/model'
import type { NewReceipt, PointStore } from '../../src/events/store'
import type { PrunesReceipts } from '../../src/stores/receipt-retention'
import { amount, userId } from '../support/values'
import type { FixtureOptions, StoreFixture } from './contract'

const right = <A>(result: E.Either<unknown, A>): A => {
  if (E.isLeft(result)) throw new Error(`expected success, got ${JSON.stringify(result.left)}`)
  return result.right
}

const key = (k: string): IdempotencyKey => {
  if (!IdempotencyKey.is(k)) throw new RangeError(`not a key: ${k}`)
  return k
}

/** What a store that keeps receipts in a file or database must do about their window. */
export function pruningSuite(name: string, fixture: (options: FixtureOptions) => Promise<StoreFixture & { store: PointStore & PrunesReceipts }>): void {
  describe(`receipt pruning: ${name}`, function () {
    const window = 60_000
    const start = 1_700_000_000_000
    let now: number
    let current: StoreFixture & { store: PointStore & PrunesReceipts }
    let store: PointStore & PrunesReceipts

    beforeEach(async function () {
      now = start
      current = await fixture({ clock: () => now, receiptRetentionMillis: window })
      store = current.store
    })
    afterEach(async function () {
      await current.dispose()
    })

    /** One charge of 1 for the user, with `count` keyed receipts, recorded at the store's time now. */
    const record = async (user: number, count: number) => {
      const receipts: NewReceipt[] = Array.from({ length: count }, (_, i) => ({
        key: key(`k-${i}`),
        userId: userId(user),
        fingerprint: `Charge:${user}:${i}`,
        outcome: { _tag: 'Accepted', point: 1 },
      }))
      const event = { type: 'CHARGE' as const, userId: userId(user), amount: amount(1), timeMillis: now }
      right(await store.append(userId(user), 0, { events: [event], projection: { balance: 1, version: 1 }, receipts })())
    }
    const found = async (user: number, count: number) =>
      right(await store.receipts(userId(user), Array.from({ length: count }, (_, i) => key(`k-${i}`)))()).length

    it('deletes expired receipts oldest first, at most the batch bound per call, and keeps the fresh ones', async function () {
      // Users 1–5 record 5 receipts each, one millisecond apart; user 6 records 3 a window later.
      for (const user of [1, 2, 3, 4, 5]) {
        await record(user, 5)
        now += 1
      }
      now = start + window + 4
      await record(6, 3)

      // Every receipt of users 1–5 is past the window now, and user 6's are fresh: 25 to prune, in batches of 10.
      const batches: number[] = []
      for (let deleted = -1; deleted !== 0; ) batches.push((deleted = right(await store.pruneReceipts(10)())))
      expect(batches).to.deep.equal([10, 10, 5, 0])

      // Back at a time when all of them were live, only what pruning kept is found.
      now = start + window - 1
      for (const user of [1, 2, 3, 4, 5]) expect(await found(user, 5), `user ${user}`).to.equal(0)
      expect(await found(6, 3)).to.equal(3)
    })

    it('takes the oldest first when a batch cannot take them all', async function () {
      for (const user of [1, 2]) {
        await record(user, 4)
        now += 1
      }
      now = start + window + 1
      expect(right(await store.pruneReceipts(4)())).to.equal(4)
      now = start + window - 1
      expect(await found(1, 4)).to.equal(0)
      expect(await found(2, 4)).to.equal(4)
    })

    it('prunes nothing inside the window', async function () {
      await record(1, 3)
      now = start + window - 1
      expect(right(await store.pruneReceipts(100)())).to.equal(0)
      expect(await found(1, 3)).to.equal(3)
    })
  })
}
