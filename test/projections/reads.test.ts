import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import type { StoredEvent } from '../../src/events/model'
import { versionConflict, type HistoryQuery, type PointStore } from '../../src/events/store'
import { createReads } from '../../src/projections/reads'
import { overriding } from '../support/spy-store'
import { fastMemoryStore } from '../support/tables'
import { amount, userId } from '../support/values'

const user = userId(1)
const event = (id: number, type: 'CHARGE' | 'USE', n: number, timeMillis: number): StoredEvent => ({ id, type, userId: user, amount: amount(n), timeMillis })
const log = [event(1, 'CHARGE', 100, 10), event(2, 'USE', 30, 20), event(3, 'CHARGE', 5, 30)]

/** A store whose history is `log`, filtered as asked, with every query it was asked recorded. */
const scripted = (extra: Partial<PointStore> = {}) => {
  const queries: Array<HistoryQuery | undefined> = []
  const store = overriding(fastMemoryStore(), {
    history: (_, query) => {
      queries.push(query)
      const after = query?.after ?? 0
      const until = query?.until ?? Number.POSITIVE_INFINITY
      const events = log.filter((e) => e.id > after && e.timeMillis <= until)
      return TE.right(query?.limit === undefined ? events : events.slice(0, query.limit))
    },
    ...extra,
  })
  return { store, queries }
}

const right = <A>(result: E.Either<unknown, A>): A => {
  if (E.isLeft(result)) throw new Error(`expected a value, got ${JSON.stringify(result.left)}`)
  return result.right
}

describe('reads', function () {
  it('reads a page by asking for one event more than it holds, and says where the next page starts', async function () {
    const { store, queries } = scripted()
    const page = right(await createReads(store).historyPage(user, { after: 0, limit: 2 })())
    expect(page).to.deep.equal({ events: log.slice(0, 2), next: 2 })
    expect(queries).to.deep.equal([{ after: 0, limit: 3 }])
  })

  it('gives no next page when the page holds the last events', async function () {
    const { store } = scripted()
    expect(right(await createReads(store).historyPage(user, { after: 1, limit: 2 })())).to.deep.equal({ events: log.slice(1) })
    expect(right(await createReads(store).historyPage(user, { after: 0, limit: 3 })())).to.deep.equal({ events: log })
  })

  it('folds the history up to `at` when the store cannot look a balance up, stamped with the last event it takes', async function () {
    const { store, queries } = scripted()
    expect(right(await createReads(store).balanceAt(user, 25)())).to.deep.equal({ id: 1, point: 70, held: 0, available: 70, updateMillis: 20 })
    expect(queries).to.deep.equal([{ until: 25 }])
  })

  it('answers balance 0 stamped `at` itself before the first event', async function () {
    const { store } = scripted()
    expect(right(await createReads(store).balanceAt(user, 5)())).to.deep.equal({ id: 1, point: 0, held: 0, available: 0, updateMillis: 5 })
  })

  it('asks the store for a point-in-time balance when it can look one up', async function () {
    const { store, queries } = scripted({ balanceAt: (id, at) => TE.right({ id, point: 42, updateMillis: at }) })
    expect(right(await createReads(store).balanceAt(user, 25)())).to.deep.equal({ id: 1, point: 42, held: 0, available: 42, updateMillis: 25 })
    expect(queries).to.deep.equal([])
  })

  it('reports any store fault on a read as StoreUnavailable', async function () {
    const conflict = versionConflict(user, 1)
    const { store } = scripted({ balance: () => TE.left(conflict), history: () => TE.left(conflict) })
    const reads = createReads(store)
    const unavailable = E.left({ _tag: 'StoreUnavailable', cause: conflict })
    expect(await reads.balance(user)()).to.deep.equal(unavailable)
    expect(await reads.history(user)()).to.deep.equal(unavailable)
    expect(await reads.historyPage(user, { after: 0, limit: 5 })()).to.deep.equal(unavailable)
    expect(await reads.balanceAt(user, 5)()).to.deep.equal(unavailable)
  })
})
