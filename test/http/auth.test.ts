import { expect } from 'chai'
import { Writable } from 'node:stream'
import pino from 'pino'
import type { ApiKey } from '../../src/api-keys'
import { startService } from '../../src/service'
import { listen, opsApp, type Listening } from '../support/ops'
import { sendRaw } from '../support/raw-http'
import { patchJson, startTestServer, testConfig } from '../support/server'

const keys: ApiKey[] = [
  { key: 'admin-3f9c2b', scopes: ['read', 'charge', 'use'] },
  { key: 'reader-77aa', scopes: ['read'] },
  { key: 'till-01', scopes: ['use'] },
  { key: 'topup-02', scopes: ['charge'] },
  { key: 'prometheus-03', scopes: ['metrics'] },
]
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

const expectProblem = async (response: Response, status: number, code: string): Promise<void> => {
  expect(response.status).to.equal(status)
  expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/)
  expect(await response.json()).to.include({ status, code })
}

describe('access control with POINT_API_KEYS', function () {
  let served: Listening
  before(async function () {
    served = await listen(opsApp({ apiKeys: keys }).app)
  })
  after(async function () {
    await served.close()
  })

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${served.url}${path}`, { headers })
  const charge = (headers: Record<string, string>) => patchJson(`${served.url}/point/5/charge`, { amount: 10 }, headers)
  const use = (headers: Record<string, string>) => patchJson(`${served.url}/point/5/use`, { amount: 1 }, headers)

  it('answers 401 problem+json, with a Bearer challenge, to a request without a key on every /point route', async function () {
    for (const response of [await get('/point/5'), await get('/point/5/histories'), await charge({}), await use({})]) {
      expect(response.headers.get('www-authenticate')).to.match(/^Bearer /)
      await expectProblem(response, 401, 'UNAUTHORIZED')
    }
  })

  it('answers 401 to an unknown key, a key differing by one character, and a header that is not Bearer', async function () {
    await expectProblem(await get('/point/5', bearer('nobody')), 401, 'UNAUTHORIZED')
    await expectProblem(await get('/point/5', bearer('admin-3f9c2c')), 401, 'UNAUTHORIZED')
    await expectProblem(await get('/point/5', bearer('admin-3f9c2b2')), 401, 'UNAUTHORIZED')
    await expectProblem(await get('/point/5', { authorization: 'Basic YWRtaW4tM2Y5YzJiOg==' }), 401, 'UNAUTHORIZED')
    await expectProblem(await get('/point/5', { authorization: 'admin-3f9c2b' }), 401, 'UNAUTHORIZED')
  })

  it('answers 403 problem+json to a known key without the scope, and writes nothing', async function () {
    await expectProblem(await get('/point/5', bearer('till-01')), 403, 'FORBIDDEN')
    await expectProblem(await get('/point/5/histories', bearer('topup-02')), 403, 'FORBIDDEN')
    await expectProblem(await charge(bearer('reader-77aa')), 403, 'FORBIDDEN')
    await expectProblem(await charge(bearer('till-01')), 403, 'FORBIDDEN')
    await expectProblem(await use(bearer('reader-77aa')), 403, 'FORBIDDEN')
    await expectProblem(await use(bearer('topup-02')), 403, 'FORBIDDEN')
    expect(await (await get('/point/5/histories', bearer('reader-77aa'))).json()).to.deep.equal([])
  })

  it('lets a key do exactly what its scopes allow', async function () {
    expect((await charge(bearer('topup-02'))).status).to.equal(200)
    expect((await use(bearer('till-01'))).status).to.equal(200)
    expect(await (await get('/point/5', bearer('reader-77aa'))).json()).to.include({ point: 9 })
    expect((await get('/point/5/histories', bearer('admin-3f9c2b'))).status).to.equal(200)
    expect((await get('/point/5', { authorization: 'bearer reader-77aa' })).status, 'scheme is case-insensitive').to.equal(200)
  })

  it('answers 400 problem+json to two Authorization headers, even two good keys, and applies nothing', async function () {
    const twice = (first: string, second: string) =>
      sendRaw(
        served.url,
        `PATCH /point/6/charge HTTP/1.1\r\nHost: ledger\r\nConnection: close\r\nAuthorization: Bearer ${first}\r\n` +
          `Authorization: Bearer ${second}\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"amount":10}`,
      )
    for (const [first, second] of [['topup-02', 'reader-77aa'], ['reader-77aa', 'topup-02'], ['topup-02', 'topup-02']] as const) {
      const answer = await twice(first, second)
      expect(answer.status, `${first} then ${second}`).to.equal(400)
      expect(answer.headers['content-type']).to.match(/^application\/problem\+json/)
      expect(JSON.parse(answer.body)).to.include({ status: 400, code: 'INVALID_REQUEST', detail: 'Authorization: send the header once' })
    }
    expect(await (await get('/point/6', bearer('reader-77aa'))).json()).to.include({ point: 0 })
    expect(await (await get('/point/6/histories', bearer('reader-77aa'))).json()).to.deep.equal([])
  })

  it('leaves health, readiness and the docs open', async function () {
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs', '/docs/init.js']) {
      expect((await get(path)).status, path).to.equal(200)
    }
  })

  it('serves /metrics only to a key with the metrics scope, as Prometheus sends it', async function () {
    await expectProblem(await get('/metrics'), 401, 'UNAUTHORIZED')
    await expectProblem(await get('/metrics', bearer('admin-3f9c2b')), 403, 'FORBIDDEN')
    const scraped = await get('/metrics', bearer('prometheus-03'))
    expect(scraped.status).to.equal(200)
    expect(await scraped.text()).to.include('http_request_duration_seconds')
    await expectProblem(await get('/point/5', bearer('prometheus-03')), 403, 'FORBIDDEN')
  })

  it('answers a path no route serves 404, key or not: no route, nothing to guard', async function () {
    await expectProblem(await get('/point/5/elsewhere'), 404, 'NOT_FOUND')
    await expectProblem(await get('/point/5/elsewhere', bearer('reader-77aa')), 404, 'NOT_FOUND')
  })
})

describe('without POINT_API_KEYS', function () {
  it('serves /point to anyone and warns at startup that it runs open', async function () {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString())
        done()
      },
    })
    const server = await startTestServer()
    try {
      expect((await fetch(`${server.url}/point/1`)).status).to.equal(200)
    } finally {
      await server.close()
    }
    const service = await startService(testConfig(), pino({ level: 'info' }, sink))
    await service.stop()
    const warnings = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l['level'] === 40)
    expect(warnings.map((w) => w['msg'])).to.deep.equal(['POINT_API_KEYS is not set: every /point route is open to anyone who can reach it'])

    lines.length = 0
    const secured = await startService(testConfig({ apiKeys: keys }), pino({ level: 'info' }, sink))
    await secured.stop()
    expect(lines.filter((line) => line.includes('POINT_API_KEYS'))).to.deep.equal([])
  })
})
