import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import type { Outcome } from '../../src/events/commands'
import { decider } from '../../src/events/decider'
import { IdempotencyKey, type Command, type UserPoint } from '../../src/events/model'
import { storeUnavailable, type Plan, type PointStore } from '../../src/events/store'
import { CommandQueue } from '../../src/events/writer'
import { overriding } from '../support/spy-store'
import { fastMemoryStore } from '../support/tables'
import { amount, userId } from '../support/values'

const limits = { maxAmount: 1_000, maxBalance: 5_000 }
const now = 1_700_000_000_000

const key = (k: string): IdempotencyKey => {
  if (!IdempotencyKey.is(k)) throw new RangeError(`not a key: ${k}`)
  return k
}
const charge = (n: number, k?: string): Command => ({ type: 'Charge', userId: userId(1), amount: amount(n), ...(k === undefined ? {} : { key: key(k) }) })
const use = (n: number, k?: string): Command => ({ type: 'Use', userId: userId(1), amount: amount(n), ...(k === undefined ? {} : { key: key(k) }) })

/** The store's calls as the writer made them: each plan appended, each receipts lookup's keys. */
const recording = (inner: PointStore = fastMemoryStore()) => {
  const plans: Plan[] = []
  const lookups: string[][] = []
  const store = overriding(inner, {
    append: (user, version, plan) => {
      plans.push(plan)
      return inner.append(user, version, plan)
    },
    receipts: (user, keys) => {
      lookups.push([...keys])
      return inner.receipts(user, keys)
    },
  })
  return { store, plans, lookups, inner }
}

/** An acceptance as its balance (the time is the given tables' commit time), a rejection as its code, else the fault. */
const answer = (outcome: Outcome): { point: number; replayed?: boolean } | { code: string; replayed?: boolean } | string => {
  if (E.isRight(outcome)) return { point: outcome.right.point, ...(outcome.right.replayed === true && { replayed: true }) }
  const failure = outcome.left
  return failure._tag === 'Rejection' ? { code: failure.code, ...(failure.replayed === true && { replayed: true }) } : failure._tag
}

const history = async (store: PointStore): Promise<number[]> => {
  const events = await store.history(userId(1))()
  if (E.isLeft(events)) throw new Error('history failed')
  return events.right.map((e) => e.amount)
}

describe('CommandQueue with Idempotency-Keys', function () {
  it('writes a receipt for a keyed rejection, alone, and answers its retry from it as a replay', async function () {
    const { store, plans, inner } = recording()
    const queue = new CommandQueue({ store, decide: decider(limits), clock: () => now })
    expect(answer(await queue.submit(use(10, 'k-refused')))).to.deep.equal({ code: 'INSUFFICIENT_BALANCE' })
    expect(plans).to.have.length(1)
    expect(plans[0]!.events).to.deep.equal([])
    expect(plans[0]!.receipts).to.deep.equal([
      { key: 'k-refused', userId: 1, fingerprint: 'Use:1:10', outcome: { _tag: 'Rejection', code: 'INSUFFICIENT_BALANCE', detail: 'balance 0 is less than 10' } },
    ])

    // With points to cover it now, the retry still gets the recorded refusal: it is not decided again.
    expect(answer(await queue.submit(charge(50)))).to.deep.include({ point: 50 })
    expect(answer(await queue.submit(use(10, 'k-refused')))).to.deep.equal({ code: 'INSUFFICIENT_BALANCE', replayed: true })
    expect(await history(inner)).to.deep.equal([50])
  })

  it('answers a retry of an accepted keyed command with the recorded balance and time, appending nothing', async function () {
    let clock = now
    const { store, plans } = recording()
    const queue = new CommandQueue({ store, decide: decider(limits), clock: () => clock })
    const first = await queue.submit(charge(30, 'k-1'))
    if (E.isLeft(first)) throw new Error('expected the first charge to be accepted')
    clock += 1_000
    expect(answer(await queue.submit(charge(5)))).to.deep.include({ point: 35 })
    const appendsBefore = plans.length
    expect(await queue.submit(charge(30, 'k-1'))).to.deep.equal(E.right({ ...first.right, replayed: true }))
    expect(plans.length, 'a pure replay reaches no append').to.equal(appendsBefore)
  })

  it('refuses a key reused for a different command with IDEMPOTENCY_KEY_REUSED, and records nothing for it', async function () {
    const { store, plans, inner } = recording()
    const queue = new CommandQueue({ store, decide: decider(limits), clock: () => now })
    await queue.submit(charge(30, 'k-1'))
    const reused = await queue.submit(charge(31, 'k-1'))
    expect(E.isLeft(reused) && reused.left).to.deep.equal({ _tag: 'Rejection', code: 'IDEMPOTENCY_KEY_REUSED', detail: 'this Idempotency-Key was used for a different command' })
    expect(plans).to.have.length(1)
    expect(await history(inner)).to.deep.equal([30])
  })

  it('looks up the receipts of a batch once, each distinct key once, and not at all for a batch without keys', async function () {
    const { store, lookups } = recording()
    const queue = new CommandQueue({ store, decide: decider(limits), clock: () => now })
    await Promise.all([charge(1), charge(2)].map((c) => queue.submit(c)))
    expect(lookups).to.deep.equal([])
    const outcomes = await Promise.all([charge(5, 'a'), charge(6, 'b'), charge(5, 'a'), charge(7)].map((c) => queue.submit(c)))
    expect(lookups).to.deep.equal([['a', 'b']])
    expect(outcomes.map(answer)).to.deep.equal([
      { point: 8 },
      { point: 14 },
      { point: 8, replayed: true },
      { point: 21 },
    ])
  })

  it('fails a keyed batch with StoreUnavailable when its receipts cannot be read, appending nothing', async function () {
    const inner = fastMemoryStore()
    let failing = true
    const store = overriding(inner, {
      receipts: (user, keys) => (failing ? TE.left(storeUnavailable(new Error('receipts unreadable'))) : inner.receipts(user, keys)),
    })
    const queue = new CommandQueue({ store, decide: decider(limits), clock: () => now })
    const outcomes = await Promise.all([charge(5, 'a'), charge(6)].map((c) => queue.submit(c)))
    expect(outcomes.map(answer)).to.deep.equal(['StoreUnavailable', 'StoreUnavailable'])
    expect(await history(inner)).to.deep.equal([])
    failing = false
    expect(answer(await queue.submit(charge(5, 'a')))).to.deep.equal({ point: 5 })
  })

  it('fails a batch with StoreUnavailable when the user\'s state cannot be loaded, and loads it again for the next', async function () {
    const inner = fastMemoryStore()
    await inner.append(userId(1), 0, { events: [{ type: 'CHARGE', userId: userId(1), amount: amount(40), timeMillis: 1 }], projection: { balance: 40, version: 1 }, receipts: [] })()
    let failing = true
    const store = overriding(inner, {
      load: (user) => (failing ? TE.left(storeUnavailable(new Error('log unreadable'))) : inner.load(user)),
    })
    const queue = new CommandQueue({ store, decide: decider(limits), clock: () => now })
    expect(answer(await queue.submit(use(10)))).to.equal('StoreUnavailable')
    failing = false
    expect(answer(await queue.submit(use(10)))).to.deep.include({ point: 30 })
    expect(await history(inner)).to.deep.equal([40, 10])
  })

  it('answers a batch that writes nothing at the clock\'s time, without reaching the store\'s append', async function () {
    const { store, plans } = recording()
    const queue = new CommandQueue({ store, decide: decider(limits), clock: () => now })
    const outcomes = await Promise.all([use(1), charge(limits.maxAmount + 1)].map((c) => queue.submit(c)))
    expect(outcomes.map(answer)).to.deep.equal([{ code: 'INSUFFICIENT_BALANCE' }, { code: 'AMOUNT_LIMIT_EXCEEDED' }])
    expect(plans).to.deep.equal([])
  })

  it('retries a lost race under the lock with the receipts read for the batch, and fails it when they cannot be read there', async function () {
    const shared = fastMemoryStore()
    let failReceiptsAfterLoss = false
    let lost = false
    let lockedCalls = 0
    const store = overriding(shared, {
      // Every optimistic append loses, so each batch goes on to the locked path.
      append: (user, version, plan) => {
        lost = failReceiptsAfterLoss
        return shared.append(user, version - 1, plan)
      },
      receipts: (user, keys) => (lost ? TE.left(storeUnavailable(new Error('receipts unreadable'))) : shared.receipts(user, keys)),
      appendLocked: (user, plan) => async () => {
        lockedCalls += 1
        const state = await shared.load(user)()
        if (E.isLeft(state)) return state
        const decided = plan(state.right)
        const appended = await shared.append(user, state.right.version, decided)()
        return E.map((point: UserPoint) => ({ plan: decided, point }))(appended)
      },
    })
    const queue = new CommandQueue({ store, decide: decider(limits), clock: () => now, maxConflictRetries: 1 })
    expect(answer(await queue.submit(charge(5, 'k')))).to.deep.equal({ point: 5 })
    expect(lockedCalls).to.equal(1)
    expect(answer(await queue.submit(charge(5, 'k')))).to.deep.equal({ point: 5, replayed: true })

    // The optimistic try reads the receipts and loses; reading them again for the locked retry fails.
    failReceiptsAfterLoss = true
    const calls = lockedCalls
    expect(answer(await queue.submit(charge(9, 'other')))).to.equal('StoreUnavailable')
    expect(lockedCalls, 'no locked append without the receipts').to.equal(calls)
    expect(await history(shared)).to.deep.equal([5])
  })

  it('waits the conflict backoff before each retry, told the attempt number', async function () {
    const shared = fastMemoryStore()
    const attempts: number[] = []
    const store = overriding(shared, { append: (user, version, plan) => shared.append(user, version - 1, plan) })
    const queue = new CommandQueue({
      store,
      decide: decider(limits),
      maxConflictRetries: 3,
      conflictBackoff: (attempt) => {
        attempts.push(attempt)
        return Promise.resolve()
      },
    })
    expect(answer(await queue.submit(charge(5)))).to.equal('StoreUnavailable')
    expect(attempts).to.deep.equal([0, 1, 2])
  })

  it('tells onBatch the size of each batch it takes', async function () {
    const sizes: number[] = []
    const queue = new CommandQueue({ store: fastMemoryStore(), decide: decider(limits), maxBatchSize: 2, onBatch: (size) => sizes.push(size) })
    await Promise.all([charge(1), charge(2), charge(3)].map((c) => queue.submit(c)))
    expect(sizes).to.deep.equal([2, 1])
  })

  it('retries a lost race five times by default before giving up', async function () {
    const shared = fastMemoryStore()
    let appends = 0
    const store = overriding(shared, {
      append: (user, version, plan) => {
        appends += 1
        return shared.append(user, version - 1, plan)
      },
    })
    const queue = new CommandQueue({ store, decide: decider(limits) })
    expect(answer(await queue.submit(charge(5)))).to.equal('StoreUnavailable')
    expect(appends, 'the first try and five retries').to.equal(6)
  })

  it('loads a user\'s state once while its writer stays busy, going on from what it appended', async function () {
    const loads: number[] = []
    const inner = fastMemoryStore()
    const store = overriding(inner, {
      load: (user) => {
        loads.push(user)
        return inner.load(user)
      },
    })
    const queue = new CommandQueue({ store, decide: decider(limits), maxBatchSize: 1 })
    const outcomes = await Promise.all([charge(1), charge(2), charge(3)].map((c) => queue.submit(c)))
    expect(outcomes.map(answer)).to.deep.equal([{ point: 1 }, { point: 3 }, { point: 6 }])
    expect(loads).to.deep.equal([1])
  })
})
