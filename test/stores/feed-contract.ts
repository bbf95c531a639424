import { expect } from 'chai'
import * as fc from 'fast-check'
import * as E from 'fp-ts/Either'
import { comparePositions, feedStart, type FeedEntry, type FeedEvent, type FeedPosition } from '../../src/events/feed'
import type { PointStore } from '../../src/events/store'
import { createLedger } from '../../src/projections/ledger'
import { amount, userId } from '../support/values'
import type { StoreFixture } from './contract'

const right = <A>(result: E.Either<unknown, A>): A => {
  if (E.isLeft(result)) throw new Error(`expected success, got ${JSON.stringify(result.left)}`)
  return result.right
}

const feedOf = (store: PointStore) => {
  const feed = store.feed?.bind(store)
  if (feed === undefined) throw new Error('the store has no feed')
  return feed
}

/** Reads the whole feed after `after`, `limit` at a time. */
export async function readAll(store: PointStore, limit = 7, after: FeedPosition = feedStart): Promise<FeedEntry[]> {
  const seen: FeedEntry[] = []
  let from = after
  for (;;) {
    const page = right(await feedOf(store)({ after: from, limit })())
    seen.push(...page)
    if (page.length < limit) return seen
    from = page.at(-1)!.position
  }
}

/** What the feed must do on every store: every event once, in one order, each user's in version order. */
export function feedContract(name: string, fixture: () => Promise<StoreFixture>): void {
  describe(`feed contract: ${name}`, function () {
    let current: StoreFixture
    let store: PointStore

    beforeEach(async function () {
      current = await fixture()
      store = current.store
    })
    afterEach(async function () {
      await current.dispose()
    })

    it('is empty before any event, from the start or from any position', async function () {
      expect(await readAll(store)).to.deep.equal([])
      expect(right(await feedOf(store)({ after: { commit: 0, event: 5 }, limit: 10 })())).to.deep.equal([])
    })

    it('shows every user\'s events once, in increasing positions, each as its history shows it', async function () {
      const ledger = createLedger({ store, limits: { maxAmount: 1_000, maxBalance: 100_000 } })
      for (const [user, n] of [[1, 10], [2, 20], [1, 30], [3, 40], [2, 50]] as const) right(await ledger.charge(userId(user), amount(n))())
      right(await ledger.use(userId(1), amount(5))())
      // A rejected command writes nothing, so it is not in the feed.
      expect(E.isLeft(await ledger.use(userId(3), amount(1_000))())).to.equal(true)

      const entries = await readAll(store, 2)
      const positions = entries.map((entry) => entry.position)
      expect(positions).to.deep.equal([...positions].sort(comparePositions))
      expect(new Set(positions.map((p) => `${p.commit}-${p.event}`)).size).to.equal(6)
      expect(entries.map(({ event }) => [event.userId, event.type, event.amount])).to.deep.equal([
        [1, 'CHARGE', 10], [2, 'CHARGE', 20], [1, 'CHARGE', 30], [3, 'CHARGE', 40], [2, 'CHARGE', 50], [1, 'USE', 5],
      ])
      for (const user of [1, 2, 3]) {
        const history = right(await store.history(userId(user))())
        expect(entries.filter(({ event }) => event.userId === user).map(({ event }) => event)).to.deep.equal(history)
      }
      // Resuming after any position gives exactly the rest.
      for (const [i, entry] of entries.entries()) expect(await readAll(store, 3, entry.position)).to.deep.equal(entries.slice(i + 1))
    })

    it('never passes over an event: a follower reading while users write concurrently sees the log as it ends up', async function () {
      this.timeout(60_000)
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 50 })), { minLength: 5, maxLength: 30 }), async (charges) => {
          const local = await fixture()
          try {
            const ledger = createLedger({ store: local.store, limits: { maxAmount: 1_000, maxBalance: 1_000_000 } })
            const followed: FeedEntry[] = []
            let writing = true
            const follower = (async () => {
              let after = feedStart
              // Polls until the writes are done, then once more for whatever committed last.
              for (let last = false; !last; ) {
                last = !writing
                const page = right(await feedOf(local.store)({ after, limit: 3 })())
                followed.push(...page)
                after = page.at(-1)?.position ?? after
                if (page.length === 3) last = false
                await new Promise<void>((resolve) => setImmediate(resolve))
              }
            })()
            await Promise.all(charges.map(([user, n]) => ledger.charge(userId(user), amount(n))()))
            writing = false
            await follower
            const final = await readAll(local.store, 1_000)
            expect(followed).to.deep.equal(final)
            expect(final).to.have.length(charges.length)
            const byUser = new Map<number, FeedEvent[]>()
            for (const { event } of final) byUser.set(event.userId, [...(byUser.get(event.userId) ?? []), event])
            for (const [user, events] of byUser) expect(events).to.deep.equal(right(await local.store.history(userId(user))()))
          } finally {
            await local.dispose()
          }
        }),
        { numRuns: 8 },
      )
    })
  })
}
