import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import type { Limits } from '../../src/events/decider'
import { HoldSweeper } from '../../src/events/hold-sweeper'
import { runAudit, type AuditSource } from '../../src/projections/audit-run'
import type { StoreFixture } from '../stores/contract'
import { expectProblem, okJson, send } from '../support/http'
import { patchJson, serveFixture } from '../support/server'
import { userId } from '../support/values'

const limits: Limits = { maxAmount: 10_000, maxBalance: 50_000, maxHoldTtlMillis: 3_600_000, defaultHoldTtlMillis: 600_000 }

interface Balance {
  id: number
  point: number
  held: number
  available: number
  updateMillis: number
}
interface Placed extends Balance {
  hold: { holdId: number; amount: number; expiresMillis: number }
}
interface HistoryRow {
  id: number
  type: string
  amount: number
  timeMillis: number
  useId?: number
  holdId?: number
}
interface HoldRow {
  holdId: number
  amount: number
  placedMillis: number
  expiresMillis: number
}

/**
 * Refunds and holds over HTTP on a real listening service, on whatever store `fixture` makes: the same answers on
 * every store. The service's clock is the suite's, stepped by hand past expiries.
 */
export function checkoutSuite(name: string, fixture: () => Promise<StoreFixture & { store: AuditSource }>): void {
  describe(`refunds and holds over HTTP: ${name}`, function () {
    this.timeout(60_000)
    let now = Date.now()
    const served = serveFixture(fixture, { limits }, () => now)
    let lastUser = 200_000
    const freshUser = (): number => ++lastUser

    const url = (path: string): string => `${served.server.url}${path}`
    const patch = (path: string, body: unknown, key?: string) => patchJson(url(path), body, key === undefined ? {} : { 'Idempotency-Key': key })
    const ok = async <A>(response: Promise<Response>): Promise<A> => (await okJson(await response)) as A
    const balance = (user: number, at?: number) => ok<Balance>(send(url(`/point/${user}${at === undefined ? '' : `?at=${at}`}`), 'GET'))
    const history = (user: number) => ok<HistoryRow[]>(send(url(`/point/${user}/histories`), 'GET'))
    const holds = (user: number) => ok<HoldRow[]>(send(url(`/point/${user}/holds`), 'GET'))
    const charge = (user: number, amount: number) => ok<Balance>(patch(`/point/${user}/charge`, { amount }))
    /** A use, and its history id. */
    const use = async (user: number, amount: number): Promise<number> => {
      await ok<Balance>(patch(`/point/${user}/use`, { amount }))
      return (await history(user)).at(-1)!.id
    }
    const refund = (user: number, useId: number, amount: number, key?: string) => patch(`/point/${user}/refund`, { useId, amount }, key)
    const hold = (user: number, amount: number, ttlSeconds?: number, key?: string) =>
      patch(`/point/${user}/hold`, ttlSeconds === undefined ? { amount } : { amount, ttlSeconds }, key)
    const capture = (user: number, holdId: number, amount?: number, key?: string) =>
      patch(`/point/${user}/holds/${holdId}/capture`, amount === undefined ? {} : { amount }, key)
    const release = (user: number, holdId: number, key?: string) =>
      fetch(url(`/point/${user}/holds/${holdId}/release`), { method: 'PATCH', headers: key === undefined ? {} : { 'Idempotency-Key': key } })
    const audit = async () => {
      const report = await runAudit(served.store, limits)()
      expect(report._tag === 'Right' && report.right.findings).to.deep.equal([])
    }

    describe('refund', function () {
      it('bug "a refund applied twice": a keyed refund retried applies once and answers the first answer again', async function () {
        const user = freshUser()
        await charge(user, 1_000)
        const useId = await use(user, 400)
        const first = await refund(user, useId, 400, `refund-${user}`)
        const firstBody = await okJson(first)
        const again = await refund(user, useId, 400, `refund-${user}`)
        expect(again.headers.get('idempotency-replayed')).to.equal('true')
        expect(await okJson(again)).to.deep.equal(firstBody)
        // Concurrent retries of another keyed refund: still once.
        const useAgain = await use(user, 300)
        const racing = await Promise.all([1, 2, 3].map(() => refund(user, useAgain, 300, `race-${user}`)))
        expect(racing.map((r) => r.status)).to.deep.equal([200, 200, 200])
        await Promise.all(racing.map((r) => r.arrayBuffer()))
        expect((await history(user)).filter((row) => row.type === 'REFUND').map((row) => [row.useId, row.amount])).to.deep.equal([[useId, 400], [useAgain, 300]])
        expect(await balance(user)).to.include({ point: 1_000 })
        await audit()
      })

      it('bug "partial refunds that add up to more than the original": refunds of a use never pass its amount, even sent at once', async function () {
        const user = freshUser()
        await charge(user, 1_000)
        const useId = await use(user, 100)
        expect(await ok<Balance>(refund(user, useId, 60))).to.include({ point: 960 })
        await expectProblem(await refund(user, useId, 41), { status: 409, code: 'REFUND_EXCEEDS_USE', detail: /at most 40 more/ })
        const racing = await Promise.all([refund(user, useId, 30), refund(user, useId, 30), refund(user, useId, 30)])
        const statuses = await Promise.all(racing.map(async (r) => [r.status, ((await r.json()) as { code?: string }).code ?? 'ok']))
        expect(statuses.filter(([status]) => status === 200)).to.have.length(1)
        expect(statuses.filter(([status, code]) => status === 409 && code === 'REFUND_EXCEEDS_USE')).to.have.length(2)
        expect(await balance(user)).to.include({ point: 990 })
        await audit()
      })

      it('bug "a refund dated wrongly": a refund is dated when it is decided, not when its use was, in history and in ?at=', async function () {
        const user = freshUser()
        await charge(user, 500)
        const useId = await use(user, 200)
        const usedAt = (await history(user)).at(-1)!.timeMillis
        now += 60_000
        await ok<Balance>(refund(user, useId, 50))
        const refunded = (await history(user)).at(-1)!
        expect(refunded).to.include({ type: 'REFUND', useId, amount: 50 })
        expect(refunded.timeMillis).to.be.at.least(usedAt + 60_000)
        expect(await balance(user, refunded.timeMillis - 1)).to.include({ point: 300 })
        expect(await balance(user, refunded.timeMillis)).to.include({ point: 350 })
      })

      it('shows each refund in history with the use it refunds, and is not refused for the maximum balance', async function () {
        const user = freshUser()
        for (let i = 0; i < 5; i++) await charge(user, 10_000)
        const useId = await use(user, 10_000)
        await charge(user, 10_000)
        await expectProblem(await patch(`/point/${user}/charge`, { amount: 1 }), { status: 409, code: 'BALANCE_LIMIT_EXCEEDED' })
        const after = await ok<Balance>(refund(user, useId, 10_000))
        expect(after).to.include({ point: 60_000, held: 0, available: 60_000 })
        const rows = await history(user)
        expect(rows.slice(4).map(({ type, amount, useId: linked }) => ({ type, amount, ...(linked === undefined ? {} : { useId: linked }) }))).to.deep.equal([
          { type: 'CHARGE', amount: 10_000 },
          { type: 'USE', amount: 10_000 },
          { type: 'CHARGE', amount: 10_000 },
          { type: 'REFUND', amount: 10_000, useId },
        ])
        await audit()
      })

      it('refuses, with 404 USE_NOT_FOUND and nothing written, a refund of a charge, of an id never written, or of another user\'s use', async function () {
        const user = freshUser()
        const other = freshUser()
        await charge(user, 500)
        await charge(other, 500)
        const othersUse = await use(other, 100)
        const chargeId = (await history(user)).at(-1)!.id
        for (const useId of [chargeId, othersUse, 9_007_199_254_740_991]) {
          await expectProblem(await refund(user, useId, 1), { status: 404, code: 'USE_NOT_FOUND' })
        }
        expect(await history(user)).to.have.length(1)
      })

      it('refuses a malformed refund body with 400 and writes nothing', async function () {
        const user = freshUser()
        await charge(user, 500)
        const useId = await use(user, 100)
        for (const body of [{ amount: 1 }, { useId }, { useId, amount: 0 }, { useId: 0, amount: 1 }, { useId, amount: 1, extra: 1 }, { useId: '1', amount: 1 }]) {
          await expectProblem(await patch(`/point/${user}/refund`, body), { status: 400, code: 'INVALID_REQUEST' })
        }
        await expectProblem(await refund(user, useId, 10_001), { status: 400, code: 'AMOUNT_LIMIT_EXCEEDED' })
        expect(await history(user)).to.have.length(2)
      })
    })

    it('pages a history of refunds and captures like any other, each row with its link', async function () {
      const user = freshUser()
      await charge(user, 1_000)
      const useId = await use(user, 100)
      await ok<Balance>(refund(user, useId, 10))
      const holdId = (await ok<Placed>(hold(user, 50, 60))).hold.holdId
      await ok<Balance>(capture(user, holdId))
      const first = await send(url(`/point/${user}/histories?limit=2`), 'GET')
      const link = first.headers.get('link')
      expect((await okJson(first))).to.have.length(2)
      const next = /<([^>]+)>; rel="next"/.exec(link ?? '')?.[1]
      expect(next, 'a Link to the next page').to.be.a('string')
      const rest = (await okJson(await send(url(next!), 'GET'))) as HistoryRow[]
      expect(rest.map(({ type, useId: u, holdId: h }) => ({ type, ...(u === undefined ? {} : { useId: u }), ...(h === undefined ? {} : { holdId: h }) }))).to.deep.equal([
        { type: 'REFUND', useId },
        { type: 'CAPTURE', holdId },
      ])
    })

    describe('hold', function () {
      it('answers the hold placed, its id, amount and expiry, and the balance with it held', async function () {
        const user = freshUser()
        await charge(user, 1_000)
        const placed = await ok<Placed>(hold(user, 300, 120))
        expect(placed).to.deep.include({ id: user, point: 1_000, held: 300, available: 700 })
        expect(placed.hold).to.deep.equal({ holdId: 2, amount: 300, expiresMillis: now + 120_000 })
        expect(await balance(user)).to.include({ point: 1_000, held: 300, available: 700 })
        expect(await holds(user)).to.deep.equal([{ holdId: 2, amount: 300, placedMillis: now, expiresMillis: now + 120_000 }])
        // The default ttl, and the maximum.
        const byDefault = await ok<Placed>(hold(user, 1))
        expect(byDefault.hold.expiresMillis).to.equal(now + 600_000)
        await expectProblem(await hold(user, 1, 3_601), { status: 400, code: 'HOLD_TTL_EXCEEDED' })
        await expectProblem(await hold(user, 700), { status: 409, code: 'INSUFFICIENT_BALANCE' })
        await expectProblem(await patch(`/point/${user}/use`, { amount: 700 }), { status: 409, code: 'INSUFFICIENT_BALANCE' })
        expect(await ok<Balance>(patch(`/point/${user}/use`, { amount: 699 }))).to.include({ point: 301, held: 301, available: 0 })
        await audit()
      })

      it('a keyed hold retried gets the same hold again, placing one', async function () {
        const user = freshUser()
        await charge(user, 1_000)
        const first = await ok<Placed>(hold(user, 200, 60, `hold-${user}`))
        const again = await hold(user, 200, 60, `hold-${user}`)
        expect(again.headers.get('idempotency-replayed')).to.equal('true')
        expect(await okJson(again)).to.deep.equal(first)
        expect(await holds(user)).to.have.length(1)
      })

      it('captures all of a hold as a movement out linked to it, and part of another, releasing the rest', async function () {
        const user = freshUser()
        await charge(user, 1_000)
        const whole = (await ok<Placed>(hold(user, 300, 60))).hold.holdId
        const part = (await ok<Placed>(hold(user, 400, 60))).hold.holdId
        expect(await ok<Balance>(capture(user, whole))).to.include({ point: 700, held: 400, available: 300 })
        expect(await ok<Balance>(capture(user, part, 150))).to.include({ point: 550, held: 0, available: 550 })
        const rows = await history(user)
        expect(rows.slice(1).map(({ type, amount, holdId }) => ({ type, amount, holdId }))).to.deep.equal([
          { type: 'CAPTURE', amount: 300, holdId: whole },
          { type: 'CAPTURE', amount: 150, holdId: part },
        ])
        expect(await holds(user)).to.deep.equal([])
        await audit()
      })

      it('releases with no body or an empty one, and refuses any other body without releasing', async function () {
        const user = freshUser()
        await charge(user, 1_000)
        const first = (await ok<Placed>(hold(user, 300, 60))).hold.holdId
        const second = (await ok<Placed>(hold(user, 200, 60))).hold.holdId
        const releaseWith = (holdId: number, body: string, type: string) =>
          fetch(url(`/point/${user}/holds/${holdId}/release`), { method: 'PATCH', headers: { 'content-type': type }, body })
        // Not a partial release: the body is refused, and the hold stays whole.
        await expectProblem(await releaseWith(first, '{"amount":1}', 'application/json'), { status: 400, code: 'INVALID_REQUEST' })
        await expectProblem(await releaseWith(first, '{bad', 'application/json'), { status: 400, code: 'INVALID_REQUEST' })
        await expectProblem(await releaseWith(first, 'all of it', 'text/plain'), { status: 400, code: 'INVALID_REQUEST' })
        expect(await balance(user)).to.include({ held: 500 })
        expect(await okJson(await releaseWith(first, '{}', 'application/json'))).to.include({ held: 200, available: 800 })
        expect(await okJson(await release(user, second))).to.include({ held: 0, available: 1_000 })
      })

      it('refuses a capture over its hold, and of a hold never placed', async function () {
        const user = freshUser()
        await charge(user, 1_000)
        const holdId = (await ok<Placed>(hold(user, 300, 60))).hold.holdId
        await expectProblem(await capture(user, holdId, 301), { status: 409, code: 'CAPTURE_EXCEEDS_HOLD' })
        await expectProblem(await capture(user, 99), { status: 404, code: 'HOLD_NOT_FOUND' })
        await expectProblem(await release(user, 99), { status: 404, code: 'HOLD_NOT_FOUND' })
        expect(await balance(user)).to.include({ held: 300 })
      })

      it('bug "a capture racing a void": capture and release of one hold at once, one wins, the other gets 409, a keyed repeat of the winner its answer', async function () {
        const user = freshUser()
        await charge(user, 1_000)
        const holdId = (await ok<Placed>(hold(user, 300, 60))).hold.holdId
        const [captured, released] = await Promise.all([capture(user, holdId, undefined, `cap-${user}`), release(user, holdId, `rel-${user}`)])
        const won = captured.status === 200 ? 'capture' : 'release'
        const answers = [captured, released]
        expect(answers.map((r) => r.status).sort()).to.deep.equal([200, 409])
        const loser = answers.find((r) => r.status === 409)!
        await expectProblem(loser, { status: 409, code: 'HOLD_ALREADY_RESOLVED', detail: won === 'capture' ? /captured/ : /released/ })
        const winnerBody = await okJson(answers.find((r) => r.status === 200)!)
        const repeat = won === 'capture' ? await capture(user, holdId, undefined, `cap-${user}`) : await release(user, holdId, `rel-${user}`)
        expect(repeat.headers.get('idempotency-replayed')).to.equal('true')
        expect(await okJson(repeat)).to.deep.equal(winnerBody)
        expect(await balance(user)).to.include({ point: won === 'capture' ? 700 : 1_000, held: 0 })
        await audit()
      })

      it('bug "a hold that expired but still counted": past its expiry a hold reserves nothing in any answer or decision, before the sweeper writes its EXPIRE', async function () {
        const user = freshUser()
        await charge(user, 1_000)
        const holdId = (await ok<Placed>(hold(user, 600, 30))).hold.holdId
        now += 30_000
        expect(await balance(user)).to.include({ point: 1_000, held: 0, available: 1_000 })
        expect(await holds(user)).to.deep.equal([])
        await expectProblem(await capture(user, holdId), { status: 409, code: 'HOLD_ALREADY_RESOLVED', detail: /expired/ })
        await expectProblem(await release(user, holdId), { status: 409, code: 'HOLD_ALREADY_RESOLVED', detail: /expired/ })
        const again = await ok<Placed>(hold(user, 1_000, 30))
        expect(again).to.include({ held: 1_000, available: 0 })
        // The sweeper records the expiry; once written, the hold has ended by it.
        // The service's own sweeper may get there first; either way, after a pass the log has no unresolved due hold.
        await new HoldSweeper(served.store, served.server.service.ledger.expire, { clock: () => now }).pass()
        const unresolved = await served.store.holds(userId(user))()
        expect(E.isRight(unresolved) && unresolved.right.map((h) => h.holdId)).to.deep.equal([again.hold.holdId])
        await expectProblem(await capture(user, holdId), { status: 409, code: 'HOLD_ALREADY_RESOLVED', detail: /expired/ })
        expect(await balance(user)).to.include({ point: 1_000, held: 1_000 })
        await audit()
      })

      it('answers ?at= with what was held then, and holds gone by then reserve nothing', async function () {
        const user = freshUser()
        await charge(user, 1_000)
        const placedAt = now
        const holdId = (await ok<Placed>(hold(user, 250, 60))).hold.holdId
        now += 10_000
        await ok<Balance>(capture(user, holdId, 100))
        expect(await balance(user, placedAt)).to.include({ point: 1_000, held: 250, available: 750 })
        expect(await balance(user, now)).to.include({ point: 900, held: 0, available: 900 })
        expect(await balance(user, placedAt - 1)).to.include({ point: 0, held: 0 })
      })
    })
  })
}
