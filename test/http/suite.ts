import { expect } from 'chai'
import type { Limits } from '../../src/events/decider'
import type { StoreFixture } from '../stores/contract'
import { expectProblem, okJson, send, sendJsonText } from '../support/http'
import { serveFixture } from '../support/server'
import { badBodies, badIds, invalid, lenientReadings } from './bad-inputs'

const limits: Limits = { maxAmount: 10_000, maxBalance: 50_000 }

interface Balance {
  id: number
  point: number
  held: number
  available: number
  updateMillis: number
}
interface HistoryRow {
  id: number
  userId: number
  type: 'CHARGE' | 'USE'
  amount: number
  timeMillis: number
}

const asBalance = (body: unknown): Balance => {
  expect(body).to.have.all.keys('id', 'point', 'held', 'available', 'updateMillis')
  const balance = body as Balance
  expect(balance.point).to.be.a('number')
  expect(balance.available).to.equal(balance.point - balance.held)
  expect(balance.updateMillis).to.be.a('number')
  return balance
}

const asHistory = (body: unknown): HistoryRow[] => {
  expect(body).to.be.an('array')
  const rows = body as HistoryRow[]
  for (const row of rows) expect(row).to.have.all.keys('id', 'userId', 'type', 'amount', 'timeMillis')
  return rows
}

/**
 * The HTTP API against a real listening server, over whatever store `fixture`
 * makes. Each test works on users of its own, so one server serves the suite.
 */
export function httpSuite(name: string, fixture: () => Promise<StoreFixture>): void {
  describe(`HTTP API: ${name}`, function () {
    let lastUser = 100_000
    const freshUser = (): number => ++lastUser

    const served = serveFixture(fixture, { limits })

    const url = (path: string): string => `${served.server.url}${path}`
    const getBalance = async (user: number | string) => asBalance(await okJson(await send(url(`/point/${user}`), 'GET')))
    const getHistory = async (user: number | string) =>
      asHistory(await okJson(await send(url(`/point/${user}/histories`), 'GET')))
    const patch = (user: number | string, action: 'charge' | 'use', amount: number) =>
      sendJsonText(url(`/point/${user}/${action}`), 'PATCH', JSON.stringify({ amount }))
    const patchOk = async (user: number, action: 'charge' | 'use', amount: number) =>
      asBalance(await okJson(await patch(user, action, amount)))

    /** What a user's state looks like from outside, to show a request wrote nothing. */
    const snapshot = async (user: number) => ({ point: (await getBalance(user)).point, history: await getHistory(user) })

    describe('reads', function () {
      it('GET /point/{id} gives a never-seen user point 0 in the {id, point, held, available, updateMillis} shape', async function () {
        const user = freshUser()
        const balance = await getBalance(user)
        expect(balance).to.include({ id: user, point: 0 })
      })

      it('GET /point/{id}/histories gives a never-seen user []', async function () {
        expect(await getHistory(freshUser())).to.deep.equal([])
      })

      it('GET /point/{id}/histories lists a user\'s events oldest first in the documented shape', async function () {
        const user = freshUser()
        const before = Date.now()
        await patchOk(user, 'charge', 1_000)
        await patchOk(user, 'use', 300)
        await patchOk(user, 'charge', 50)
        const history = await getHistory(user)
        expect(history.map(({ userId, type, amount }) => ({ userId, type, amount }))).to.deep.equal([
          { userId: user, type: 'CHARGE', amount: 1_000 },
          { userId: user, type: 'USE', amount: 300 },
          { userId: user, type: 'CHARGE', amount: 50 },
        ])
        const ids = history.map((row) => row.id)
        expect(ids).to.deep.equal([...ids].sort((a, b) => a - b))
        expect(new Set(ids).size).to.equal(3)
        const times = history.map((row) => row.timeMillis)
        expect(times).to.deep.equal([...times].sort((a, b) => a - b))
        expect(times[0]).to.be.at.least(before)
      })

      it('keeps users apart', async function () {
        const [a, b] = [freshUser(), freshUser()]
        await patchOk(a, 'charge', 700)
        expect(await snapshot(b)).to.deep.equal({ point: 0, history: [] })
        expect((await getHistory(a)).map((row) => row.userId)).to.deep.equal([a])
      })
    })

    describe('commands', function () {
      it('PATCH /point/{id}/charge answers {id, point, updateMillis} with the balance right after it', async function () {
        const user = freshUser()
        const before = Date.now()
        const balance = await patchOk(user, 'charge', 1_200)
        expect(balance).to.include({ id: user, point: 1_200 })
        expect(balance.updateMillis).to.be.at.least(before)
        expect((await patchOk(user, 'charge', 300)).point).to.equal(1_500)
      })

      it('PATCH /point/{id}/use answers {id, point, updateMillis} with the balance right after it', async function () {
        const user = freshUser()
        await patchOk(user, 'charge', 1_000)
        expect(await patchOk(user, 'use', 400)).to.include({ id: user, point: 600 })
        expect((await patchOk(user, 'use', 600)).point).to.equal(0)
      })

      it('shows, on a GET sent after a PATCH response, at least the balance that response gave', async function () {
        const user = freshUser()
        for (const [action, amount] of [['charge', 500], ['use', 200], ['charge', 900], ['use', 1_200]] as const) {
          const answered = await patchOk(user, action, amount)
          expect((await getBalance(user)).point).to.be.at.least(answered.point)
        }
        expect((await getBalance(user)).point).to.equal(0)
      })

      it('accepts the largest safe integer as an id on every route', async function () {
        const user = Number.MAX_SAFE_INTEGER
        expect((await patchOk(user, 'charge', 40)).id).to.equal(user)
        expect((await patchOk(user, 'use', 15)).point).to.equal(25)
        expect(await getBalance(user)).to.include({ id: user, point: 25 })
        expect((await getHistory(user)).map((row) => row.userId)).to.deep.equal([user, user])
      })

      it('accepts a JSON content type with a charset parameter', async function () {
        const user = freshUser()
        const response = await send(url(`/point/${user}/charge`), 'PATCH', {
          body: '{"amount":12}',
          contentType: 'application/json; charset=utf-8',
        })
        expect(asBalance(await okJson(response)).point).to.equal(12)
      })

      it('accepts an amount of exactly POINT_MAX_AMOUNT', async function () {
        const user = freshUser()
        expect((await patchOk(user, 'charge', limits.maxAmount)).point).to.equal(limits.maxAmount)
        expect((await patchOk(user, 'use', limits.maxAmount)).point).to.equal(0)
      })

      it('accepts a charge that takes the balance exactly to POINT_MAX_BALANCE', async function () {
        const user = freshUser()
        for (let i = 0; i < limits.maxBalance / limits.maxAmount; i++) await patchOk(user, 'charge', limits.maxAmount)
        expect((await getBalance(user)).point).to.equal(limits.maxBalance)
      })
    })

    describe('rejections write nothing', function () {
      for (const action of ['charge', 'use'] as const) {
        it(`${action}: an amount over POINT_MAX_AMOUNT gives 400 AMOUNT_LIMIT_EXCEEDED`, async function () {
          const user = freshUser()
          await patchOk(user, 'charge', limits.maxAmount)
          await patchOk(user, 'charge', limits.maxAmount)
          const before = await snapshot(user)
          await expectProblem(await patch(user, action, limits.maxAmount + 1), {
            status: 400,
            code: 'AMOUNT_LIMIT_EXCEEDED',
            detail: /\bamount\b/,
          })
          expect(await snapshot(user)).to.deep.equal(before)
        })
      }

      it('use: more than the balance gives 409 INSUFFICIENT_BALANCE', async function () {
        const user = freshUser()
        await patchOk(user, 'charge', 100)
        const before = await snapshot(user)
        await expectProblem(await patch(user, 'use', 101), { status: 409, code: 'INSUFFICIENT_BALANCE', detail: /\bbalance\b/ })
        expect(await snapshot(user)).to.deep.equal(before)
      })

      it('use: any amount for a never-seen user gives 409 INSUFFICIENT_BALANCE', async function () {
        const user = freshUser()
        await expectProblem(await patch(user, 'use', 1), { status: 409, code: 'INSUFFICIENT_BALANCE' })
        expect(await snapshot(user)).to.deep.equal({ point: 0, history: [] })
      })

      it('charge: past POINT_MAX_BALANCE gives 409 BALANCE_LIMIT_EXCEEDED', async function () {
        const user = freshUser()
        for (let i = 0; i < limits.maxBalance / limits.maxAmount; i++) await patchOk(user, 'charge', limits.maxAmount)
        const before = await snapshot(user)
        await expectProblem(await patch(user, 'charge', 1), {
          status: 409,
          code: 'BALANCE_LIMIT_EXCEEDED',
          detail: /\bmaximum\b/,
        })
        expect(await snapshot(user)).to.deep.equal(before)
      })
    })

    describe('bad bodies give 400 problems and write nothing', function () {
      for (const action of ['charge', 'use'] as const) {
        for (const row of badBodies) {
          it(`${action}: ${row.name} → ${row.problem.status} ${row.problem.code}`, async function () {
            const user = freshUser()
            // Enough balance that the same amount, read leniently, would have been applied.
            await patchOk(user, 'charge', 1_000)
            const before = await snapshot(user)
            const response = await send(url(`/point/${user}/${action}`), 'PATCH', {
              body: row.body,
              contentType: row.contentType ?? 'application/json',
            })
            await expectProblem(response, row.problem)
            expect(await snapshot(user)).to.deep.equal(before)
          })
        }
      }

      it('does not echo a malformed body back', async function () {
        const user = freshUser()
        const marker = 'secret-marker-4711'
        const response = await sendJsonText(url(`/point/${user}/charge`), 'PATCH', `{"amount": 5, "note": "${marker}"`)
        const text = await expectProblem(response, invalid(/JSON/))
        expect(text).not.to.include(marker)
      })

      it('names the field and the reason in a 400, never a value the request sent', async function () {
        const user = freshUser()
        await patchOk(user, 'charge', 1_000)
        const before = await snapshot(user)
        const secret = 'hunter2'
        const refused = [
          ['a string amount', () => sendJsonText(url(`/point/${user}/charge`), 'PATCH', `{"amount":"${secret}"}`), /^body\.amount: /],
          ['a password beside the amount', () => sendJsonText(url(`/point/${user}/use`), 'PATCH', `{"amount":5,"password":"${secret}"}`), /^body: /],
          ['an unknown field named like the secret', () => sendJsonText(url(`/point/${user}/use`), 'PATCH', `{"amount":5,"${secret}":1}`), /^body: /],
          ['an id', () => send(url(`/point/${secret}`), 'GET'), /^id: /],
          ['a page size', () => send(url(`/point/${user}/histories?limit=${secret}`), 'GET'), /^query\.limit: /],
          ['an instant', () => send(url(`/point/${user}?at=${secret}`), 'GET'), /^at: /],
          [
            'an Idempotency-Key too long',
            () => fetch(url(`/point/${user}/charge`), {
              method: 'PATCH',
              headers: { 'content-type': 'application/json', 'idempotency-key': secret.repeat(40) },
              body: '{"amount":5}',
            }),
            /^Idempotency-Key: /,
          ],
        ] as const
        for (const [what, call, names] of refused) {
          const text = await expectProblem(await call(), invalid(names))
          expect(text, what).not.to.include(secret)
        }
        expect(await snapshot(user)).to.deep.equal(before)
      })
    })

    describe('bad ids give 400 problems on every route and write nothing', function () {
      const victims = [...new Set(badIds.flatMap(lenientReadings))]

      before(async function () {
        // Funded, so a use read leniently would have gone through.
        for (const user of victims) await patchOk(user, 'charge', 1_000)
      })

      const routes = [
        { name: 'GET /point/{id}', call: (id: string) => send(url(`/point/${id}`), 'GET') },
        { name: 'GET /point/{id}/histories', call: (id: string) => send(url(`/point/${id}/histories`), 'GET') },
        { name: 'PATCH /point/{id}/charge', call: (id: string) => patch(id, 'charge', 5) },
        { name: 'PATCH /point/{id}/use', call: (id: string) => patch(id, 'use', 5) },
      ]
      for (const route of routes) {
        for (const id of badIds) {
          it(`${route.name} with id "${decodeURIComponent(id)}"`, async function () {
            const before = await Promise.all(victims.map(snapshot))
            await expectProblem(await route.call(id), invalid(/\bid\b/))
            expect(await Promise.all(victims.map(snapshot))).to.deep.equal(before)
          })
        }
      }
    })

    describe('unknown routes and methods', function () {
      const unknown: ReadonlyArray<readonly [string, string]> = [
        ['GET', '/'],
        ['GET', '/points/1'],
        ['GET', '/point'],
        ['GET', '/point/1/balance'],
        ['PATCH', '/point/1/refunds'],
        ['PATCH', '/point/1/holds/1'],
      ]
      for (const [method, path] of unknown) {
        it(`${method} ${path} → 404 NOT_FOUND`, async function () {
          await expectProblem(await send(url(path), method), { status: 404, code: 'NOT_FOUND' })
        })
      }

      const wrongMethod: ReadonlyArray<readonly [string, string, string]> = [
        ['DELETE', '/point/1', 'GET'],
        ['PATCH', '/point/1', 'GET'],
        ['POST', '/point/1/histories', 'GET'],
        ['POST', '/point/1/charge', 'PATCH'],
        ['PUT', '/point/1/use', 'PATCH'],
        ['GET', '/point/1/charge', 'PATCH'],
      ]
      for (const [method, path, allowed] of wrongMethod) {
        it(`${method} ${path} → 405 METHOD_NOT_ALLOWED, allowing ${allowed}`, async function () {
          const response = await send(url(path), method)
          expect(response.headers.get('allow')).to.include(allowed)
          await expectProblem(response, { status: 405, code: 'METHOD_NOT_ALLOWED' })
        })
      }

      it('writes nothing for a charge sent with the wrong method', async function () {
        const user = freshUser()
        const response = await sendJsonText(url(`/point/${user}/charge`), 'POST', '{"amount":5}')
        await expectProblem(response, { status: 405, code: 'METHOD_NOT_ALLOWED' })
        expect(await snapshot(user)).to.deep.equal({ point: 0, history: [] })
      })
    })
  })
}
