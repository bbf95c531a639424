import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import * as t from 'io-ts'
import type { Limits } from '../../src/events/decider'
import { StoredEvent } from '../../src/events/model'
import { replay } from '../../src/projections/balance'
import { okJson, send, sendJsonText } from '../support/http'
import { serveFixture } from '../support/server'
import type { StoreFixture } from '../stores/contract'

const limits: Limits = { maxAmount: 20_000, maxBalance: 100_000 }

type Action = 'charge' | 'use'
/** A command as sent: + for a charge, - for a use. */
type Move = number

interface Answer {
  readonly status: number
  readonly point?: number
  readonly code?: string
}

const History = t.array(StoredEvent)

const signed = (event: StoredEvent): number => (event.type === 'CHARGE' ? event.amount : 0 - event.amount)

/**
 * Many simultaneous requests against a real server over whatever store
 * `fixture` makes. Every test ends by checking that the projection is what the
 * log implies, that no prefix of the log broke a limit, and that no writer is left.
 */
export function concurrencySuite(name: string, fixture: () => Promise<StoreFixture>): void {
  describe(`concurrency: ${name}`, function () {
    let lastUser = 500_000
    const freshUser = (): number => ++lastUser

    const served = serveFixture(fixture, { limits })

    const move = async (user: number, amount: Move): Promise<Answer> => {
      const action: Action = amount > 0 ? 'charge' : 'use'
      const response = await sendJsonText(`${served.server.url}/point/${user}/${action}`, 'PATCH', JSON.stringify({ amount: Math.abs(amount) }))
      const body = (await response.json()) as { point?: number; code?: string }
      return { status: response.status, point: body.point, code: body.code }
    }
    /** Sends every move at once and waits for all the answers. */
    const atOnce = (user: number, moves: Move[]): Promise<Answer[]> => Promise.all(moves.map((m) => move(user, m)))

    const setUp = async (user: number, moves: Move[]): Promise<void> => {
      for (const m of moves) expect((await move(user, m)).status).to.equal(200)
    }

    const history = async (user: number): Promise<StoredEvent[]> => {
      const decoded = History.decode(await okJson(await send(`${served.server.url}/point/${user}/histories`, 'GET')))
      if (E.isLeft(decoded)) throw new Error(`history is not a list of events: ${JSON.stringify(decoded.left)}`)
      return decoded.right
    }
    const balance = async (user: number): Promise<number> =>
      ((await okJson(await send(`${served.server.url}/point/${user}`, 'GET'))) as { point: number }).point

    /** The balance each accepted command left, in log order. */
    const runningTotals = (events: StoredEvent[]): number[] => {
      let total = 0
      return events.map((e) => (total += signed(e)))
    }

    /** Projection = replay(log), every prefix within limits, and the writers all gone. */
    const expectConsistent = async (users: number[]): Promise<void> => {
      for (const user of users) {
        const events = await history(user)
        expect(await balance(user), `user ${user}: projection vs replay`).to.equal(replay(events).balance)
        for (const total of runningTotals(events)) expect(total).to.be.within(0, limits.maxBalance)
      }
      expect(served.server.service.ledger.commands.activeWriters, 'writers left').to.equal(0)
      expect(served.server.service.ledger.commands.queued, 'commands left').to.equal(0)
    }

    /**
     * Each accepted answer is the running total right after its own event in the
     * log; `before` is how many events the log held when the moves were sent.
     */
    const expectAnswersFollowLog = (moves: Move[], answers: Answer[], log: StoredEvent[], before = 0): void => {
      const byPoint = (a: { m: number; point: number }, b: { m: number; point: number }) => a.point - b.point || a.m - b.m
      const totals = runningTotals(log)
      const fromLog = log.slice(before).map((e, i) => ({ m: signed(e), point: totals[before + i]! }))
      const fromAnswers = moves.flatMap((m, i) => (answers[i]!.status === 200 ? [{ m, point: answers[i]!.point! }] : []))
      expect(fromAnswers.sort(byPoint)).to.deep.equal(fromLog.sort(byPoint))
    }

    it('charges of 1000 and 2000 at once → 3000', async function () {
      const user = freshUser()
      const answers = await atOnce(user, [1_000, 2_000])
      expect(answers.map((a) => a.status)).to.deep.equal([200, 200])
      expect(await balance(user)).to.equal(3_000)
      expect((await history(user)).map((e) => e.amount).sort((a, b) => a - b)).to.deep.equal([1_000, 2_000])
      expectAnswersFollowLog([1_000, 2_000], answers, await history(user))
      await expectConsistent([user])
    })

    it('charges of 100, 200 and 300 at once → 600, each answer a running total in log order', async function () {
      const user = freshUser()
      const moves = [100, 200, 300]
      const answers = await atOnce(user, moves)
      expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200])
      expect(await balance(user)).to.equal(600)
      const events = await history(user)
      expect(events).to.have.length(3)
      expectAnswersFollowLog(moves, answers, events)
      // The last event's command is the one that saw 600.
      expect(answers.map((a) => a.point)).to.include(600)
      await expectConsistent([user])
    })

    it('from 1000: +500 −200 +300 −100 at once → 1500', async function () {
      const user = freshUser()
      await setUp(user, [1_000])
      const moves = [500, -200, 300, -100]
      const answers = await atOnce(user, moves)
      expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200, 200])
      expect(await balance(user)).to.equal(1_500)
      const events = await history(user)
      expect(events.map(signed)[0]).to.equal(1_000)
      expectAnswersFollowLog(moves, answers, events, 1)
      await expectConsistent([user])
    })

    it('two uses of 10000 from 15000 → exactly one succeeds', async function () {
      const user = freshUser()
      await setUp(user, [15_000])
      const answers = await atOnce(user, [-10_000, -10_000])
      expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 409])
      expect(answers.find((a) => a.status === 200)?.point).to.equal(5_000)
      expect(answers.find((a) => a.status === 409)?.code).to.equal('INSUFFICIENT_BALANCE')
      expect(await balance(user)).to.equal(5_000)
      expect((await history(user)).map(signed)).to.deep.equal([15_000, -10_000])
      await expectConsistent([user])
    })

    it('a failing use between two charges disturbs neither', async function () {
      const user = freshUser()
      // The use fails in any order: the two charges together are less than it.
      const answers = await atOnce(user, [100, -1_000, 200])
      expect(answers.map((a) => a.status)).to.deep.equal([200, 409, 200])
      expect(answers[1]?.code).to.equal('INSUFFICIENT_BALANCE')
      expect(await balance(user)).to.equal(300)
      expectAnswersFollowLog([100, -1_000, 200], answers, await history(user))
      expect((await history(user)).map(signed).sort((a, b) => a - b)).to.deep.equal([100, 200])
      await expectConsistent([user])
    })

    const rejections: ReadonlyArray<{ name: string; start: Move[]; bad: Move; good: Move[]; status: number; code: string }> = [
      { name: 'INSUFFICIENT_BALANCE', start: [100], bad: -1_000, good: [10, 20], status: 409, code: 'INSUFFICIENT_BALANCE' },
      {
        name: 'BALANCE_LIMIT_EXCEEDED',
        start: [20_000, 20_000, 20_000, 20_000, 10_000],
        bad: 20_000,
        good: [5_000, -1_000],
        status: 409,
        code: 'BALANCE_LIMIT_EXCEEDED',
      },
      { name: 'AMOUNT_LIMIT_EXCEEDED', start: [], bad: limits.maxAmount + 1, good: [7, 8], status: 400, code: 'AMOUNT_LIMIT_EXCEEDED' },
    ]
    for (const row of rejections) {
      it(`after a ${row.name} rejection, the commands sent with it and the next one succeed`, async function () {
        const user = freshUser()
        await setUp(user, row.start)
        const answers = await atOnce(user, [row.bad, ...row.good])
        expect(answers[0]).to.include({ status: row.status, code: row.code })
        expect(answers.slice(1).map((a) => a.status)).to.deep.equal(row.good.map(() => 200))
        const next = await move(user, 1)
        expect(next.status).to.equal(200)
        const expected = [...row.start, ...row.good, 1].reduce((a, b) => a + b, 0)
        expect(next.point).to.equal(expected)
        expectAnswersFollowLog([row.bad, ...row.good], answers, (await history(user)).slice(0, -1), row.start.length)
        await expectConsistent([user])
      })
    }

    it('300 distinct users charged at once all succeed', async function () {
      const users = Array.from({ length: 300 }, freshUser)
      const answers = await Promise.all(users.map((user, i) => move(user, i + 1)))
      expect(answers.filter((a) => a.status !== 200)).to.deep.equal([])
      expect(answers.map((a) => a.point)).to.deep.equal(users.map((_, i) => i + 1))
      const balances = await Promise.all(users.map(balance))
      expect(balances).to.deep.equal(users.map((_, i) => i + 1))
      await expectConsistent(users.slice(0, 20))
    })

    it('many commands for a few users at once: each user\'s log is consistent and the writer map empties', async function () {
      const users = [freshUser(), freshUser(), freshUser()]
      for (const user of users) await setUp(user, [1_000])
      const moves = Array.from({ length: 60 }, (_, i) => ({ user: users[i % 3]!, amount: i % 2 === 0 ? 300 : -450 }))
      const pending = Promise.all(moves.map(({ user, amount }) => move(user, amount)))
      expect(served.server.service.ledger.commands.activeWriters, 'writers while busy').to.be.at.most(3)
      const answers = await pending
      expect(answers.every((a) => a.status === 200 || a.code === 'INSUFFICIENT_BALANCE')).to.equal(true)
      for (const user of users) {
        const mine = moves.flatMap((m, i) => (m.user === user ? [{ m: m.amount, answer: answers[i]! }] : []))
        expectAnswersFollowLog(mine.map((x) => x.m), mine.map((x) => x.answer), await history(user), 1)
      }
      expect(served.server.service.ledger.commands.activeWriters, 'writers when idle').to.equal(0)
      await expectConsistent(users)
    })
  })
}
