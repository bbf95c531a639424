import { expect } from 'chai'
import { expectProblem } from '../support/http'
import { sendRaw } from '../support/raw-http'
import { patchJson, serveFixture } from '../support/server'
import type { StoreFixture } from '../stores/contract'

interface Sent {
  readonly status: number
  readonly replayed: string | null
  readonly body: unknown
}

/** Idempotency-Key over HTTP, on whatever store `fixture` makes; each test has users and keys of its own. */
export function idempotencySuite(name: string, fixture: () => Promise<StoreFixture>): void {
  describe(`Idempotency-Key: ${name}`, function () {
    let lastUser = 200_000
    const freshUser = () => ++lastUser
    const freshKey = () => `key-${lastUser}-${Math.random().toString(36).slice(2)}`

    const served = serveFixture(fixture, { limits: { maxAmount: 10_000, maxBalance: 50_000 } })

    const command = (user: number, action: 'charge' | 'use', amount: number, key?: string) =>
      patchJson(`${served.server.url}/point/${user}/${action}`, { amount }, key === undefined ? {} : { 'Idempotency-Key': key })
    const sent = async (response: Response): Promise<Sent> => ({
      status: response.status,
      replayed: response.headers.get('idempotency-replayed'),
      body: await response.json(),
    })
    const history = async (user: number) =>
      (await (await fetch(`${served.server.url}/point/${user}/histories`)).json()) as Array<{ amount: number }>

    it('answers a repeat with the first status and body, marked replayed, and appends nothing', async function () {
      const user = freshUser()
      const key = freshKey()
      const first = await sent(await command(user, 'charge', 300, key))
      const again = await sent(await command(user, 'charge', 300, key))
      expect(first).to.include({ status: 200, replayed: null })
      expect(again).to.deep.equal({ ...first, replayed: 'true' })
      expect((await history(user)).map((e) => e.amount)).to.deep.equal([300])
    })

    it('repeats a rejection even after the balance has changed, and writes nothing for either', async function () {
      const user = freshUser()
      const key = freshKey()
      const refused = await sent(await command(user, 'use', 500, key))
      expect(refused.status).to.equal(409)
      expect((await command(user, 'charge', 1_000)).status).to.equal(200)
      const again = await sent(await command(user, 'use', 500, key))
      expect(again).to.deep.equal({ ...refused, replayed: 'true' })
      expect((await history(user)).map((e) => e.amount)).to.deep.equal([1_000])
    })

    it('refuses the same key for another body of the same user with 422 IDEMPOTENCY_KEY_REUSED, writing nothing', async function () {
      const user = freshUser()
      const key = freshKey()
      expect((await command(user, 'charge', 100, key)).status).to.equal(200)
      await expectProblem(await command(user, 'charge', 101, key), { status: 422, code: 'IDEMPOTENCY_KEY_REUSED' })
      await expectProblem(await command(user, 'use', 100, key), { status: 422, code: 'IDEMPOTENCY_KEY_REUSED' })
      expect((await history(user)).map((e) => e.amount)).to.deep.equal([100])
    })

    it('keeps keys per user: two users each sending key "k" with their own amounts are both applied, and each retry replayed', async function () {
      const [a, b] = [freshUser(), freshUser()]
      const firstA = await sent(await command(a, 'charge', 30, 'k'))
      const firstB = await sent(await command(b, 'charge', 45, 'k'))
      expect([firstA, firstB].map((r) => [r.status, r.replayed])).to.deep.equal([[200, null], [200, null]])
      expect(await sent(await command(a, 'charge', 30, 'k'))).to.deep.equal({ ...firstA, replayed: 'true' })
      expect(await sent(await command(b, 'charge', 45, 'k'))).to.deep.equal({ ...firstB, replayed: 'true' })
      expect((await history(a)).map((e) => e.amount)).to.deep.equal([30])
      expect((await history(b)).map((e) => e.amount)).to.deep.equal([45])
    })

    it('tells no client whether another user has used a key: a rejection recorded for one user does not answer another', async function () {
      const [a, b] = [freshUser(), freshUser()]
      const key = freshKey()
      expect((await command(a, 'use', 500, key)).status).to.equal(409)
      expect((await command(b, 'charge', 500, key)).status).to.equal(200)
      expect((await command(b, 'use', 500, key)).status).to.equal(422)
      expect(await history(a)).to.deep.equal([])
    })

    it('applies concurrent requests with one key once, and answers them all alike', async function () {
      const user = freshUser()
      const key = freshKey()
      const answers = await Promise.all(Array.from({ length: 12 }, async () => sent(await command(user, 'charge', 70, key))))
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).to.equal(1)
      expect(answers.filter((a) => a.replayed === null)).to.have.length(1)
      expect(answers.every((a) => a.status === 200)).to.equal(true)
      expect((await history(user)).map((e) => e.amount)).to.deep.equal([70])
    })

    it('applies one key sent by two users at once for each of them', async function () {
      const [a, b] = [freshUser(), freshUser()]
      const key = freshKey()
      const answers = await Promise.all([command(a, 'charge', 40, key), command(b, 'charge', 41, key)])
      expect(answers.map((r) => r.status)).to.deep.equal([200, 200])
      expect((await history(a)).map((e) => e.amount)).to.deep.equal([40])
      expect((await history(b)).map((e) => e.amount)).to.deep.equal([41])
    })

    it('keeps keys apart from commands sent without one', async function () {
      const user = freshUser()
      const key = freshKey()
      await command(user, 'charge', 5, key)
      await command(user, 'charge', 5)
      await command(user, 'charge', 5)
      expect(await sent(await command(user, 'charge', 5, key))).to.include({ replayed: 'true' })
      expect((await history(user)).map((e) => e.amount)).to.deep.equal([5, 5, 5])
    })

    /** A keyed charge of 5 with the `Idempotency-Key` lines given, byte for byte. */
    const rawCharge = (user: number, keyLines: string[]) => {
      const body = '{"amount":5}'
      const head = [
        `PATCH /point/${user}/charge HTTP/1.1`,
        'Host: localhost',
        'Content-Type: application/json',
        `Content-Length: ${body.length}`,
        'Connection: close',
        ...keyLines,
      ]
      return sendRaw(served.server.url, `${head.join('\r\n')}\r\n\r\n${body}`)
    }

    for (const [label, lines] of [
      ['an empty Idempotency-Key', ['Idempotency-Key:']],
      ['an all-blank Idempotency-Key', ['Idempotency-Key:    \t ']],
      ['Idempotency-Key sent twice', ['Idempotency-Key: order-1', 'Idempotency-Key: order-2']],
      ['Idempotency-Key sent twice with one value', ['Idempotency-Key: order-1', 'idempotency-key: order-1']],
      ['Idempotency-Key sent twice, once empty', ['Idempotency-Key: order-1', 'Idempotency-Key:']],
    ] as const) {
      it(`refuses ${label} with 400 INVALID_REQUEST, writing nothing`, async function () {
        const user = freshUser()
        const answer = await rawCharge(user, [...lines])
        expect(answer.status, answer.body).to.equal(400)
        expect(answer.headers['content-type']).to.match(/^application\/problem\+json/)
        expect(JSON.parse(answer.body)).to.include({ code: 'INVALID_REQUEST' })
        expect((JSON.parse(answer.body) as { detail: string }).detail).to.match(/^Idempotency-Key/).and.not.include('order-')
        expect(await history(user)).to.deep.equal([])
      })
    }

    it('takes a key sent once, over the same raw request', async function () {
      const user = freshUser()
      expect((await rawCharge(user, ['Idempotency-Key: order-1'])).status).to.equal(200)
      expect((await rawCharge(user, ['Idempotency-Key: order-1'])).headers['idempotency-replayed']).to.equal('true')
      expect((await history(user)).map((e) => e.amount)).to.deep.equal([5])
    })

    for (const [label, key] of [
      ['256 characters', 'k'.repeat(256)],
      ['a tab', 'a\tb'],
    ] as const) {
      it(`refuses a key of ${label} with 400 INVALID_REQUEST, writing nothing`, async function () {
        const user = freshUser()
        await expectProblem(await command(user, 'charge', 5, key), { status: 400, code: 'INVALID_REQUEST', detail: /Idempotency-Key/ })
        expect(await history(user)).to.deep.equal([])
      })
    }
  })
}
