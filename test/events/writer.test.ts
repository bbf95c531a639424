import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import type { Outcome } from '../../src/events/commands'
import { decider, type Decide } from '../../src/events/decider'
import { amountOf, type Command, type UserPoint } from '../../src/events/model'
import type { PointStore } from '../../src/events/store'
import { CommandQueue, type WriterOptions } from '../../src/events/writer'
import { overriding, SpyStore } from '../support/spy-store'
import { fastMemoryStore } from '../support/tables'
import { amount, userId } from '../support/values'

const limits = { maxAmount: 10_000, maxBalance: 100_000 }
const charge = (user: number, n: number): Command => ({ type: 'Charge', userId: userId(user), amount: amount(n) })
const use = (user: number, n: number): Command => ({ type: 'Use', userId: userId(user), amount: amount(n) })

const setup = (options: Partial<WriterOptions> = {}) => {
  const store = new SpyStore(fastMemoryStore())
  const queue = new CommandQueue({ store, decide: decider(limits), ...options })
  const submitAll = (commands: Command[]) => Promise.all(commands.map((c) => queue.submit(c)))
  return { store, queue, submitAll }
}

const point = (outcome: Outcome): number => {
  if (E.isLeft(outcome)) throw new Error(`expected success, got ${JSON.stringify(outcome.left)}`)
  return outcome.right.point
}

const failure = (outcome: Outcome): string => {
  if (E.isRight(outcome)) throw new Error(`expected failure, got ${JSON.stringify(outcome.right)}`)
  return outcome.left._tag === 'Rejection' ? outcome.left.code : outcome.left._tag
}

const historyOf = async (store: PointStore, user: number) => {
  const history = await store.history(userId(user))()
  if (E.isLeft(history)) throw new Error('history failed')
  return history.right.map((e) => (e.type === 'CHARGE' ? e.amount : 0 - e.amount))
}

const runningTotals = (deltas: number[]): number[] => {
  let total = 0
  return deltas.map((d) => (total += d))
}

/** A promise plus the function that settles it, for holding a store call open. */
const gate = () => {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { opened, open }
}

describe('CommandQueue (single writer per user)', function () {
  it('applies one user\'s commands in arrival order, answering each with the balance right after it', async function () {
    const { store, submitAll } = setup()
    const amounts = [100, 200, 300, 400, 500, 600, 700, 800]
    const outcomes = await submitAll(amounts.map((n) => charge(1, n)))
    expect(await historyOf(store, 1)).to.deep.equal(amounts)
    expect(outcomes.map(point)).to.deep.equal(runningTotals(amounts))
  })

  it('keeps each user\'s order when users\' commands are interleaved', async function () {
    const { store, submitAll } = setup()
    const commands = [charge(1, 50), charge(2, 7), use(1, 20), charge(2, 3), charge(1, 5), use(2, 9)]
    await submitAll(commands)
    expect(await historyOf(store, 1)).to.deep.equal([50, -20, 5])
    expect(await historyOf(store, 2)).to.deep.equal([7, 3, -9])
  })

  it('appends queued commands as one batch per writer turn, in arrival order', async function () {
    const { store, submitAll } = setup()
    const amounts = Array.from({ length: 12 }, (_, i) => i + 1)
    await submitAll(amounts.map((n) => charge(1, n)))
    expect(store.appends.length, 'appends').to.be.below(amounts.length)
    expect(store.appends.flatMap((a) => a.events.map((e) => e.amount))).to.deep.equal(amounts)
    // Each batch continues where the one before it ended.
    let version = 0
    for (const call of store.appends) {
      expect(call.expectedVersion).to.equal(version)
      version += call.events.length
    }
  })

  it('never takes more commands in one batch than maxBatchSize', async function () {
    const { store, submitAll } = setup({ maxBatchSize: 3 })
    await submitAll(Array.from({ length: 10 }, (_, i) => charge(1, i + 1)))
    expect(store.appends.map((a) => a.events.length).every((n) => n <= 3)).to.equal(true)
    expect(store.appends.flatMap((a) => a.events)).to.have.length(10)
  })

  it('never has two store calls for one user in flight at once, while users run side by side', async function () {
    const { store, submitAll } = setup()
    const commands = Array.from({ length: 60 }, (_, i) => (i % 4 === 3 ? use((i % 5) + 1, 1) : charge((i % 5) + 1, 10)))
    await submitAll(commands)
    expect(store.overlaps).to.deep.equal([])
    expect(store.appends.length).to.be.at.least(5)
  })

  it('does not make one user wait for another user\'s slow write', async function () {
    const held = gate()
    const inner = fastMemoryStore()
    const slowForUser1 = overriding(inner, {
      append: (user, version, plan) => async () => {
        if (user === 1) await held.opened
        return inner.append(user, version, plan)()
      },
    })
    const queue = new CommandQueue({ store: slowForUser1, decide: decider(limits) })
    let user1Done = false
    const first = queue.submit(charge(1, 10)).then((outcome) => ((user1Done = true), outcome))
    const second = await queue.submit(charge(2, 20))
    expect(point(second)).to.equal(20)
    expect(user1Done, 'user 1 still waiting on its store write').to.equal(false)
    held.open()
    expect(point(await first)).to.equal(10)
  })

  it('lets a rejected command neither fail nor block the ones behind it', async function () {
    const { store, submitAll } = setup()
    const outcomes = await submitAll([use(1, 50), charge(1, 30), use(1, 20), use(1, 100), charge(1, 5)])
    expect(outcomes.map((o) => (E.isRight(o) ? o.right.point : failure(o)))).to.deep.equal([
      'INSUFFICIENT_BALANCE',
      30,
      10,
      'INSUFFICIENT_BALANCE',
      15,
    ])
    expect(await historyOf(store, 1)).to.deep.equal([30, -20, 5])
  })

  it('appends nothing for a batch that is rejected whole', async function () {
    const { store, submitAll } = setup()
    const outcomes = await submitAll([use(1, 1), use(1, 2), charge(1, limits.maxAmount + 1)])
    expect(outcomes.map(failure)).to.deep.equal(['INSUFFICIENT_BALANCE', 'INSUFFICIENT_BALANCE', 'AMOUNT_LIMIT_EXCEEDED'])
    expect(store.appends).to.deep.equal([])
    expect(await historyOf(store, 1)).to.deep.equal([])
  })

  it('fails only the command whose decision threw', async function () {
    const rules = decider(limits)
    const decide: Decide = (command, state, time) => {
      if (amountOf(command) === 13) throw new Error('a bug in the rules')
      return rules(command, state, time)
    }
    const { store, submitAll } = setup({ decide })
    const outcomes = await submitAll([charge(1, 10), charge(1, 13), charge(1, 20)])
    expect(point(outcomes[0]!)).to.equal(10)
    expect(failure(outcomes[1]!)).to.equal('Defect')
    expect(point(outcomes[2]!)).to.equal(30)
    expect(await historyOf(store, 1)).to.deep.equal([10, 20])
  })

  it('answers a batch whose append failed with StoreUnavailable, then serves later commands from the log', async function () {
    const { store, queue, submitAll } = setup()
    expect(point(await queue.submit(charge(1, 100)))).to.equal(100)

    store.failNextAppends(1)
    const failed = await submitAll([charge(1, 50), use(1, 30)])
    expect(failed.map(failure)).to.deep.equal(['StoreUnavailable', 'StoreUnavailable'])

    const loadsBefore = store.loads.length
    const later = await submitAll([charge(1, 25), use(1, 5)])
    expect(later.map(point)).to.deep.equal([125, 120])
    expect(store.loads.length, 'state reloaded from the log').to.be.above(loadsBefore)
    expect(await historyOf(store, 1)).to.deep.equal([100, 25, -5])
  })

  it('answers a batch whose store call threw as a Defect and keeps serving the queue', async function () {
    const inner = fastMemoryStore()
    const loadAsked = gate()
    const thrown = gate()
    let throwOnce = true
    const throwing = overriding(inner, {
      load: (user) => async () => {
        if (!throwOnce) return inner.load(user)()
        throwOnce = false
        loadAsked.open()
        await thrown.opened
        throw new Error('the driver threw')
      },
    })
    const queue = new CommandQueue({ store: throwing, decide: decider(limits) })
    const first = queue.submit(charge(1, 10))
    await loadAsked.opened
    const second = queue.submit(charge(1, 20))
    thrown.open()
    expect(failure(await first)).to.equal('Defect')
    expect(point(await second), 'queued behind the batch that threw').to.equal(20)
  })

  it('re-decides a batch that lost a version race to another writer on the same store', async function () {
    const shared = fastMemoryStore()
    const appendAsked = gate()
    const held = gate()
    // `here` reads the log, then its append waits while `elsewhere` appends first.
    const here = new CommandQueue({
      store: overriding(shared, {
        append: (user, version, plan) => async () => {
          appendAsked.open()
          await held.opened
          return shared.append(user, version, plan)()
        },
      }),
      decide: decider(limits),
    })
    const elsewhere = new CommandQueue({ store: shared, decide: decider(limits) })
    expect(point(await elsewhere.submit(charge(1, 100)))).to.equal(100)

    const late = here.submit(charge(1, 1))
    await appendAsked.opened
    expect(point(await elsewhere.submit(charge(1, 50)))).to.equal(150)
    held.open()

    expect(point(await late), 'decided again on the fresh state').to.equal(151)
    expect(await historyOf(shared, 1)).to.deep.equal([100, 50, 1])
  })

  it('gives up with StoreUnavailable when every retry loses the race', async function () {
    const shared = fastMemoryStore()
    const alwaysStale = overriding(shared, {
      append: (user, version, plan) => shared.append(user, version - 1, plan),
    })
    const queue = new CommandQueue({ store: alwaysStale, decide: decider(limits), maxConflictRetries: 2 })
    expect(failure(await queue.submit(charge(1, 5)))).to.equal('StoreUnavailable')
    expect(await historyOf(shared, 1)).to.deep.equal([])
  })

  it('retries a lost race under the store\'s lock when the store offers one, deciding on the state read there', async function () {
    const shared = fastMemoryStore()
    await shared.append(userId(1), 0, { events: [{ type: 'CHARGE', userId: userId(1), amount: amount(40), timeMillis: 1 }], projection: { balance: 40, version: 1 }, receipts: [] })()
    const seen: unknown[] = []
    const store = overriding(shared, {
      // Every optimistic append loses; the locked one reads the state and appends in one step.
      append: (user, version, plan) => shared.append(user, version - 1, plan),
      appendLocked: (user, plan) => async () => {
        const state = await shared.load(user)()
        if (E.isLeft(state)) return state
        seen.push(state.right)
        const decided = plan(state.right)
        const appended = await shared.append(user, state.right.version, decided)()
        return E.map((point: UserPoint) => ({ plan: decided, point }))(appended)
      },
    })
    const queue = new CommandQueue({ store, decide: decider(limits), maxConflictRetries: 1 })
    expect(point(await queue.submit(charge(1, 5)))).to.equal(45)
    expect(seen).to.deep.equal([{ balance: 40, version: 1 }])
    expect(await historyOf(shared, 1)).to.deep.equal([40, 5])
  })

  it('stays on the locked path after a lost race until the writer goes idle, then appends optimistically again', async function () {
    const shared = fastMemoryStore()
    const calls: string[] = []
    const lockedAsked = gate()
    const release = gate()
    const store = overriding(shared, {
      append: (user, version, plan) => async () => {
        calls.push('append')
        // The first optimistic append loses a race; later ones go through.
        const expected = calls.length === 1 ? version + 1 : version
        return shared.append(user, expected, plan)()
      },
      appendLocked: (user, plan) => async () => {
        calls.push('locked')
        lockedAsked.open()
        await release.opened
        const state = await shared.load(user)()
        if (E.isLeft(state)) return state
        const decided = plan(state.right)
        const appended = await shared.append(user, state.right.version, decided)()
        return E.map((point: UserPoint) => ({ plan: decided, point }))(appended)
      },
    })
    const queue = new CommandQueue({ store, decide: decider(limits), maxConflictRetries: 1 })
    const first = queue.submit(charge(1, 5))
    await lockedAsked.opened
    const second = queue.submit(charge(1, 7))
    release.open()
    expect([point(await first), point(await second)]).to.deep.equal([5, 12])
    expect(queue.activeWriters).to.equal(0)
    expect(point(await queue.submit(charge(1, 1)))).to.equal(13)
    expect(calls).to.deep.equal(['append', 'locked', 'locked', 'append'])
  })

  it('frees every writer when idle', async function () {
    const { queue, submitAll } = setup()
    const work = submitAll(Array.from({ length: 40 }, (_, i) => charge((i % 10) + 1, 5)))
    expect(queue.activeWriters, 'busy').to.equal(10)
    expect(queue.queued, 'sent in one tick, all wait for their writer\'s first turn').to.equal(40)
    await work
    expect(queue.activeWriters).to.equal(0)
    expect(queue.queued).to.equal(0)
  })

  describe('state cache', function () {
    it('keeps an idle user\'s decided state, so the next command for the user reads nothing from the store', async function () {
      const { store, queue } = setup({ stateCacheSize: 10 })
      expect(point(await queue.submit(charge(1, 100)))).to.equal(100)
      expect(point(await queue.submit(use(1, 30)))).to.equal(70)
      expect(point(await queue.submit(charge(1, 5)))).to.equal(75)
      expect(store.loads).to.deep.equal([userId(1)])
      expect(queue.activeWriters).to.equal(0)
      expect(queue.cachedStates).to.equal(1)
    })

    it('holds at most its size, dropping the user idle the longest', async function () {
      const { store, queue } = setup({ stateCacheSize: 2 })
      for (const user of [1, 2, 3]) await queue.submit(charge(user, 10))
      expect(queue.cachedStates).to.equal(2)
      // 1 was dropped for 3; 2 and 3 are kept.
      for (const user of [3, 2, 1]) await queue.submit(charge(user, 1))
      expect(store.loads).to.deep.equal([1, 2, 3, 1].map(userId))
      expect(queue.cachedStates).to.equal(2)
    })

    it('keeps nothing when its size is 0, the default', async function () {
      const { store, queue } = setup()
      await queue.submit(charge(1, 10))
      await queue.submit(charge(1, 10))
      expect(store.loads).to.deep.equal([userId(1), userId(1)])
      expect(queue.cachedStates).to.equal(0)
    })

    it('forgets a user whose append failed, and reads the log for the next command', async function () {
      const { store, queue } = setup({ stateCacheSize: 10 })
      await queue.submit(charge(1, 100))
      store.failNextAppends(1)
      expect(failure(await queue.submit(charge(1, 50)))).to.equal('StoreUnavailable')
      expect(queue.cachedStates).to.equal(0)
      expect(point(await queue.submit(charge(1, 1)))).to.equal(101)
      expect(store.loads).to.deep.equal([userId(1), userId(1)])
    })

    it('reads a cached user again after another writer moved it on, and re-decides on the fresh state, without a retry of its own', async function () {
      const shared = new SpyStore(fastMemoryStore())
      // No retries at all: the stale entry costs one refused append and one read, not a lost race.
      const here = new CommandQueue({ store: shared, decide: decider(limits), stateCacheSize: 10, maxConflictRetries: 0 })
      const elsewhere = new CommandQueue({ store: shared, decide: decider(limits) })
      expect(point(await here.submit(charge(1, 100)))).to.equal(100)
      expect(point(await elsewhere.submit(use(1, 30)))).to.equal(70)
      expect(point(await here.submit(charge(1, 5))), 'decided on 70, not the cached 100').to.equal(75)
      expect(await historyOf(shared, 1)).to.deep.equal([100, -30, 5])
      expect(shared.appends.filter((a) => a.userId === userId(1)).map((a) => a.expectedVersion)).to.deep.equal([0, 1, 1, 2])
    })

    it('never refuses on a cached state alone: a refusal is decided again on the store\'s state', async function () {
      const shared = fastMemoryStore()
      const here = new CommandQueue({ store: shared, decide: decider(limits), stateCacheSize: 10 })
      const elsewhere = new CommandQueue({ store: shared, decide: decider(limits) })
      await here.submit(charge(1, 10))
      await here.submit(use(1, 10))
      expect(point(await elsewhere.submit(charge(1, 50)))).to.equal(50)
      // The cache says 0, which would refuse this; the store says 50.
      expect(point(await here.submit(use(1, 30)))).to.equal(20)
      expect(failure(await here.submit(use(1, 30))), 'now refused on the state it has just stored').to.equal('INSUFFICIENT_BALANCE')
      expect(await historyOf(shared, 1)).to.deep.equal([10, -10, 50, -30])
    })

    describe('where another instance writes for the same users', function () {
      const instances = () => {
        const shared = fastMemoryStore()
        const here = new SpyStore(shared)
        const queue = new CommandQueue({ store: here, decide: decider(limits), stateCacheSize: 1_000 })
        const elsewhere = new CommandQueue({ store: shared, decide: decider(limits) })
        /** What one command of `queue` asked of the store: its reads and its appends for the user. */
        const calls = async (command: Command) => {
          const [loads, appends] = [here.loads.length, here.appends.length]
          expect(point(await queue.submit(command))).to.be.above(0)
          return { loads: here.loads.length - loads, appends: here.appends.length - appends }
        }
        /** A user this instance charged and holds in its cache, whom the other instance then charged. */
        const staleUser = async (user: number) => {
          await queue.submit(charge(user, 1))
          await elsewhere.submit(charge(user, 1))
        }
        return { queue, calls, staleUser }
      }
      const limit = 200

      it('reads a cached user first, instead of appending on the cached state, once many cached states have been found stale', async function () {
        const { calls, staleUser } = instances()
        await staleUser(1)
        expect(await calls(charge(1, 1)), 'at first it trusts the cache: a refused append, a read, the append').to.deep.equal({ loads: 1, appends: 2 })
        let user = 2
        for (; user < limit; user += 1) {
          await staleUser(user)
          const spent = await calls(charge(user, 1))
          if (spent.appends === 1) break
          expect(spent).to.deep.equal({ loads: 1, appends: 2 })
        }
        expect(user, 'it came to read stale users first').to.be.below(limit)
        for (const next of [user + 1, user + 2, user + 3]) {
          await staleUser(next)
          expect(await calls(charge(next, 1)), `user ${next}: a read and the append, no refusal`).to.deep.equal({ loads: 1, appends: 1 })
        }
      })

      it('trusts its cached states again once reads keep finding the users where it left them', async function () {
        const { queue, calls, staleUser } = instances()
        let stale = 1
        for (; stale < limit; stale += 1) {
          await staleUser(stale)
          if ((await calls(charge(stale, 1))).appends === 1) break
        }
        expect(stale, 'it came to read stale users first').to.be.below(limit)
        // From here on no other instance writes: the reads find every cached state current.
        let user = limit
        for (; user < 2 * limit; user += 1) {
          await queue.submit(charge(user, 1))
          const spent = await calls(charge(user, 1))
          if (spent.loads === 0) break
          expect(spent, 'read first, then appended on what it read').to.deep.equal({ loads: 1, appends: 1 })
        }
        expect(user, 'it read cached users first for a while').to.be.above(limit)
        expect(user, 'it came to trust the cache again').to.be.below(2 * limit)
        await queue.submit(charge(2 * limit + 1, 1))
        expect(await calls(charge(2 * limit + 1, 1))).to.deep.equal({ loads: 0, appends: 1 })
      })
    })
  })
})
