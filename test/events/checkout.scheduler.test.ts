import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import { PointHistoryTable, UserPointTable } from '../../database'
import type { Outcome } from '../../src/events/commands'
import { decider } from '../../src/events/decider'
import type { Command, IdempotencyKey } from '../../src/events/model'
import { CommandQueue } from '../../src/events/writer'
import { runAudit } from '../../src/projections/audit-run'
import { MemoryStore } from '../../src/stores/memory'
import { shortDelay } from '../support/tables'
import { amount, userId } from '../support/values'

const limits = { maxAmount: 1_000, maxBalance: 10_000 }
const decide = decider(limits)
const user = userId(1)
const placedAt = 1_000_000
const expiresAt = placedAt + 60_000

/**
 * The service on the given tables: one writer queue, as one instance has (several instances are PostgreSQL's, in
 * the multi-instance test), every table call completing when fast-check's scheduler says.
 */
function service(s: fc.Scheduler, clock: () => number) {
  const options = { readDelay: shortDelay, writeDelay: shortDelay, sleep: s.scheduleFunction(async (_ms: number) => {}) }
  const store = new MemoryStore(new UserPointTable(options), new PointHistoryTable(options))
  return { store, queue: new CommandQueue({ store, decide, clock }) }
}

/** Sends each command when the scheduler lets it arrive, after `arrive` has run; answers in the order given. */
async function race(s: fc.Scheduler, queue: CommandQueue, sends: ReadonlyArray<readonly [Command, string, (() => void)?]>): Promise<Outcome[]> {
  const answers = sends.map(([command, label, arrive]) =>
    s.schedule(Promise.resolve(command), label).then((c) => {
      arrive?.()
      return queue.submit(c)
    }),
  )
  return s.waitFor(Promise.all(answers))
}

const code = (outcome: Outcome): string => (E.isRight(outcome) ? 'ok' : outcome.left._tag === 'Rejection' ? outcome.left.code : outcome.left._tag)

const key = (k: string) => k as IdempotencyKey

describe('refunds and holds, every interleaving chosen by fast-check', function () {
  it('resolves a hold exactly once when its capture, its release and its expiry race; a keyed repeat gets the winner\'s answer', async function () {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }), async (s, part) => {
        // The sweeper sends the expiry once the clock reaches it: from its arrival on, the hold is due.
        let now = placedAt
        const { store, queue } = service(s, () => now)
        const setup = queue
          .submit({ type: 'Charge', userId: user, amount: amount(1_000) })
          .then(() => queue.submit({ type: 'Hold', userId: user, amount: amount(300), ttlMillis: 60_000 }))
        const placed = await s.waitFor(setup)
        expect(E.isRight(placed) && placed.right.hold?.holdId).to.equal(2)
        const capture: Command = { type: 'Capture', userId: user, holdId: 2, key: key('cap'), ...(part === undefined ? {} : { amount: amount(part) }) }
        const [captured, released, expired, repeated] = await race(s, queue, [
          [capture, 'capture'],
          [{ type: 'Release', userId: user, holdId: 2, key: key('rel') }, 'release'],
          [{ type: 'Expire', userId: user, holdId: 2 }, 'expiry', () => void (now = expiresAt)],
          [capture, 'capture repeated'],
        ])

        const log = await s.waitFor(store.scanEvents(user)[Symbol.asyncIterator]().next())
        const endings = (log.value as Array<{ type: string; ref?: number; amount: number }>).filter((e) => e.type === 'CAPTURE' || e.type === 'RELEASE' || e.type === 'EXPIRE')
        expect(endings, 'one event resolves the hold').to.have.length(1)
        const winner = endings[0]!.type
        expect([code(captured!), code(released!)]).to.deep.equal(
          winner === 'CAPTURE' ? ['ok', 'HOLD_ALREADY_RESOLVED'] : winner === 'RELEASE' ? ['HOLD_ALREADY_RESOLVED', 'ok'] : ['HOLD_ALREADY_RESOLVED', 'HOLD_ALREADY_RESOLVED'],
        )
        expect(E.isRight(expired!), 'the sweeper\'s expiry never fails').to.equal(true)
        // The repeat and the original are one command: the same answer, one of them marked replayed.
        const strip = (o: Outcome) => (E.isRight(o) ? { ...o.right, replayed: undefined } : { code: code(o) })
        expect(strip(repeated!)).to.deep.equal(strip(captured!))
        const expected = 1_000 - (winner === 'CAPTURE' ? (part ?? 300) : 0)
        const balance = await s.waitFor(store.balance(user)())
        expect(E.isRight(balance) && balance.right.point).to.equal(expected)
        const report = await s.waitFor(runAudit(store, limits)())
        expect(E.isRight(report) && report.right.findings).to.deep.equal([])
      }),
      { numRuns: 150 },
    )
  })

  it('never refunds more of a use than it took, whatever the order concurrent refunds are decided in', async function () {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 2, maxLength: 6 }), async (s, amounts) => {
        const { store, queue } = service(s, () => placedAt)
        await s.waitFor(queue.submit({ type: 'Charge', userId: user, amount: amount(1_000) }))
        await s.waitFor(queue.submit({ type: 'Use', userId: user, amount: amount(300) }))
        const history = await s.waitFor(store.history(user)())
        const useId = E.isRight(history) ? history.right[1]!.id : 0
        const outcomes = await race(
          s,
          queue,
          amounts.map((n, i) => [{ type: 'Refund', userId: user, useId, amount: amount(n) }, `refund ${n} (#${i})`] as const),
        )
        const accepted = amounts.filter((_, i) => E.isRight(outcomes[i]!))
        const refused = amounts.filter((_, i) => E.isLeft(outcomes[i]!))
        const total = accepted.reduce((sum, n) => sum + n, 0)
        expect(total, 'refunded in all').to.be.at.most(300)
        for (const [i, outcome] of outcomes.entries()) if (E.isLeft(outcome)) expect(code(outcome), `refund #${i}`).to.equal('REFUND_EXCEEDS_USE')
        // Each was refused when what was refunded before it, at most the final total, left too little.
        for (const n of refused) expect(total + n, `a refused refund of ${n}`).to.be.greaterThan(300)
        const balance = await s.waitFor(store.balance(user)())
        expect(E.isRight(balance) && balance.right.point).to.equal(700 + total)
        const report = await s.waitFor(runAudit(store, limits)())
        expect(E.isRight(report) && report.right.findings).to.deep.equal([])
      }),
      { numRuns: 150 },
    )
  })
})
