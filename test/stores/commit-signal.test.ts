import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { initialState, type PointState } from '../../src/events/decider'
import type { PointEvent } from '../../src/events/model'
import { storeUnavailable, type Plan, type PointStore } from '../../src/events/store'
import { signalCommits } from '../../src/stores/commit-signal'
import { delegating } from '../../src/stores/delegating'
import { gatedStore } from '../support/gated'
import { fastMemoryStore } from '../support/tables'
import { amount, userId } from '../support/values'

const charge = (n: number): PointEvent => ({ type: 'CHARGE', userId: userId(1), amount: amount(n), timeMillis: 1_000 })

/** A plan of one charge from `state`. */
const chargePlan = (state: PointState, n: number): Plan => ({
  events: [charge(n)],
  projection: { ...state, balance: state.balance + n, version: state.version + 1 },
  receipts: [],
})

describe('signalCommits', function () {
  it('signals once for each append that committed, once it has, and answers what the store answered', async function () {
    const inner = gatedStore(fastMemoryStore())
    const signalled: string[][] = []
    const store = signalCommits(inner.store, () => signalled.push([...inner.calls]))
    const first = store.append(userId(1), 0, chargePlan(initialState, 5))()
    await inner.holding
    expect(signalled, 'nothing is signalled while the append is under way').to.deep.equal([])
    inner.release()
    const appended = await first
    expect(E.isRight(appended) && appended.right.point).to.equal(5)
    expect(signalled, 'one signal, after the store had the append').to.deep.equal([['append']])

    // A stale version is refused: nothing was committed, so nothing is signalled.
    const stale = await store.append(userId(1), 0, chargePlan(initialState, 7))()
    expect(E.isLeft(stale) && stale.left._tag).to.equal('VersionConflict')
    expect(signalled).to.have.length(1)
  })

  it('signals nothing when the store fails, and passes the fault on', async function () {
    let signals = 0
    const fault = storeUnavailable(new Error('disk gone'))
    const failing: PointStore = delegating(fastMemoryStore(), { append: () => TE.left(fault) })
    const store = signalCommits(failing, () => {
      signals += 1
    })
    expect(await store.append(userId(1), 0, chargePlan(initialState, 5))()).to.deep.equal(E.left(fault))
    expect(signals).to.equal(0)
  })

  it('signals nothing when the store throws, and the throw reaches the caller', async function () {
    let signals = 0
    const throwing: PointStore = delegating(fastMemoryStore(), { append: () => () => Promise.reject(new Error('a bug in the store')) })
    const store = signalCommits(throwing, () => {
      signals += 1
    })
    let thrown: unknown
    try {
      await store.append(userId(1), 0, chargePlan(initialState, 5))()
    } catch (error) {
      thrown = error
    }
    expect(thrown).to.be.an('error').with.property('message', 'a bug in the store')
    expect(signals).to.equal(0)
  })

  it('adds no locked append to a store that has none: the writer chooses its path by whether there is one', function () {
    const store = signalCommits(fastMemoryStore(), () => undefined)
    expect(store).not.to.have.property('appendLocked')
  })

  it('signals a locked append that committed too, and none that failed', async function () {
    let signals = 0
    const point = { id: userId(1), point: 5, updateMillis: 1_000 }
    const outcomes = [E.right(point), E.left(storeUnavailable(new Error('lock lost')))]
    const locking: PointStore = delegating(fastMemoryStore(), {
      appendLocked: (_user, plan) => () => {
        const outcome = outcomes.shift()!
        return Promise.resolve(E.map(() => ({ plan: plan(initialState), point }))(outcome))
      },
    })
    const store = signalCommits(locking, () => {
      signals += 1
    })
    expect(store, 'kept, as the store had it').to.have.property('appendLocked').that.is.a('function')
    const appendLocked = store.appendLocked!.bind(store)
    const committed = await appendLocked(userId(1), (state) => chargePlan(state, 5))()
    expect(E.isRight(committed) && committed.right.point).to.deep.equal(point)
    expect(signals).to.equal(1)
    const failed = await appendLocked(userId(1), (state) => chargePlan(state, 5))()
    expect(E.isLeft(failed)).to.equal(true)
    expect(signals).to.equal(1)
  })
})
