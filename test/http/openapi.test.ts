import Ajv2020 from 'ajv/dist/2020'
import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import { openApiDocument } from '../../src/http/openapi'
import { problemCatalog, type ProblemCode } from '../../src/http/problem'
import { AmountBody, HistoryPageQuery, IdempotencyKeyHeader, InstantParam, UserIdParam } from '../../src/http/requests'
import { downStore, limits, listen, opsApp, routersOf, type Listening } from '../support/ops'
import { ResponseValidator } from '../support/openapi'
import { patchJson, startTestServer } from '../support/server'

type Json = Record<string, unknown>

const serverUrl = 'http://127.0.0.1:3000'

const keys = [
  { key: 'all-scopes-key', scopes: ['read', 'charge', 'use', 'metrics'] as const },
  { key: 'read-only-key', scopes: ['read'] as const },
]
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

const toTemplate = (routerPath: string): string => routerPath.replace(/:(\w+)/g, '{$1}')

/** Every code any documented response may carry. */
const documentedCodes = (document: Json): Set<string> => {
  const found = new Set<string>()
  JSON.stringify(document, (key, value: unknown) => {
    if (key === 'enum' && Array.isArray(value)) value.forEach((v) => found.add(String(v)))
    return value
  })
  return found
}

describe('OpenAPI document', function () {
  for (const secured of [false, true]) {
    describe(secured ? 'with API keys' : 'open', function () {
      const document = openApiDocument({ limits, secured, serverUrl })
      const paths = document['paths'] as Record<string, Json>

      it('documents every route the router serves, and serves every documented operation', async function () {
        // The service as `npm start` wires it.
        const server = await startTestServer({ config: { apiKeys: secured ? keys : undefined } })
        await server.close()
        const served = routersOf(server.service.app).flatMap((router) =>
          router.stack.flatMap((layer) =>
            layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m.toLowerCase()} ${toTemplate(String(layer.path))}`),
          ),
        )
        expect(served.length).to.be.greaterThan(8)
        const documented = Object.entries(paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`))
        expect(served.filter((route) => !documented.includes(route)), 'undocumented routes').to.deep.equal([])
        expect(documented.filter((route) => !served.includes(route)), 'documented but not served').to.deep.equal([])
      })

      it('documents the query parameters the point routes read', function () {
        const names = (path: string) => ((paths[path]?.['get'] as Json)['parameters'] as Json[]).map((p) => p['name'])
        expect(names('/point/{id}')).to.deep.equal(['id', 'at'])
        expect(names('/point/{id}/histories')).to.deep.equal(['id', 'limit', 'after'])
      })

      it('documents every path parameter of every route', function () {
        for (const [path, item] of Object.entries(paths)) {
          const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])
          for (const operation of Object.values(item) as Json[]) {
            const parameters = (operation['parameters'] as Json[] | undefined) ?? []
            const inPath = parameters.filter((p) => p['in'] === 'path')
            expect(inPath.map((p) => p['name']), path).to.deep.equal(names)
          }
        }
      })

      it('names every problem code, with its status, in the Problem schema and the description', function () {
        const schemas = (document['components'] as Json)['schemas'] as Record<string, Json>
        const problemCodes = ((schemas['Problem']?.['properties'] as Json)['code'] as Json)['enum']
        expect(problemCodes).to.have.members(Object.keys(problemCatalog))
        const description = String((document['info'] as Json)['description'])
        for (const [code, { status }] of Object.entries(problemCatalog)) {
          expect(description).to.contain(`\`${code}\` (${status})`)
        }
      })

      it('lists in some operation every code an operation can answer with', function () {
        // Routing answers these for requests that match no operation, and the server these before any routing;
        // the Problem schema covers them.
        const routing: ProblemCode[] = ['METHOD_NOT_ALLOWED', 'NOT_IMPLEMENTED', 'REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE']
        const auth: ProblemCode[] = ['UNAUTHORIZED', 'FORBIDDEN']
        const expected = (Object.keys(problemCatalog) as ProblemCode[]).filter(
          (code) => !routing.includes(code) && (secured || !auth.includes(code)),
        )
        const inOperations = documentedCodes(paths)
        expect(expected.filter((code) => !inOperations.has(code))).to.deep.equal([])
        if (!secured) expect(inOperations.has('UNAUTHORIZED')).to.equal(false)
      })

      it('declares the Retry-After a refused feed stream carries, and only there', function () {
        const declaring = Object.entries(paths).flatMap(([path, item]) =>
          Object.entries(item).flatMap(([method, op]) =>
            Object.entries((op as { responses: Record<string, { headers?: Json }> }).responses)
              .filter(([, response]) => response.headers?.['Retry-After'] !== undefined)
              .map(([status]) => `${method} ${path} ${status}`),
          ),
        )
        expect(declaring).to.deep.equal(['get /events/stream 5XX'])
      })

      it('has component schemas that compile under strict JSON Schema 2020-12', function () {
        const ajv = new Ajv2020({ strict: true })
        ajv.addKeyword('components')
        const components = document['components'] as Json
        ajv.addSchema({ $id: 'document', components })
        for (const name of Object.keys(components['schemas'] as Json)) {
          expect(() => ajv.getSchema(`document#/components/schemas/${name}`), name).to.not.throw()
        }
      })
    })
  }

  describe('GET /openapi.json', function () {
    it('serves the document the running app describes', async function () {
      const served = await listen(opsApp({ apiKeys: keys }).app)
      try {
        const response = await fetch(`${served.url}/openapi.json`)
        expect(response.status).to.equal(200)
        const body = (await response.json()) as Json
        expect(body['openapi']).to.equal('3.1.0')
        expect(body).to.deep.equal(JSON.parse(JSON.stringify(openApiDocument({ limits, secured: true, serverUrl: served.url }))))
      } finally {
        await served.close()
      }
    })
  })
})

describe('real responses fit the OpenAPI document', function () {
  let served: Listening
  let down: Listening
  let starting: Listening
  const validator = new ResponseValidator(openApiDocument({ limits, secured: true, serverUrl }))
  const check = (method: string, path: string, response: Response) => validator.expectDocumented(method, path, response)
  const all = bearer('all-scopes-key')

  before(async function () {
    served = await listen(opsApp({ apiKeys: keys }).app)
    down = await listen(opsApp({ apiKeys: keys, store: downStore() }).app)
    starting = await listen(opsApp({ apiKeys: keys, starting: true }).app)
  })
  after(async function () {
    await Promise.all([served.close(), down.close(), starting.close()])
  })

  it('GET /point/{id}: 200, 400, 401, 503', async function () {
    expect(await check('GET', '/point/{id}', await fetch(`${served.url}/point/1`, { headers: all }))).to.include({ point: 0 })
    expect(await check('GET', '/point/{id}', await fetch(`${served.url}/point/abc`, { headers: all }))).to.include({
      code: 'INVALID_REQUEST',
    })
    expect(await check('GET', '/point/{id}', await fetch(`${served.url}/point/1`))).to.include({ code: 'UNAUTHORIZED' })
    expect(await check('GET', '/point/{id}', await fetch(`${down.url}/point/1`, { headers: all }))).to.include({
      code: 'STORE_UNAVAILABLE',
    })
  })

  it('PATCH /point/{id}/charge: 200, 400 twice, 403, 409, 413', async function () {
    const url = `${served.url}/point/11/charge`
    const path = '/point/{id}/charge'
    expect(await check('PATCH', path, await patchJson(url, { amount: 700 }, all))).to.include({ id: 11, point: 700 })
    expect(await check('PATCH', path, await patchJson(url, { amount: 0 }, all))).to.include({ code: 'INVALID_REQUEST' })
    expect(await check('PATCH', path, await patchJson(url, { amount: limits.maxAmount + 1 }, all))).to.include({
      code: 'AMOUNT_LIMIT_EXCEEDED',
    })
    expect(await check('PATCH', path, await patchJson(url, { amount: 1 }, bearer('read-only-key')))).to.include({
      code: 'FORBIDDEN',
    })
    const full = `${served.url}/point/21/charge`
    for (let i = 0; i < limits.maxBalance / limits.maxAmount; i++) await patchJson(full, { amount: limits.maxAmount }, all)
    expect(await check('PATCH', path, await patchJson(full, { amount: 1 }, all))).to.include({ code: 'BALANCE_LIMIT_EXCEEDED' })
    const huge = await patchJson(url, { amount: 1, pad: 'x'.repeat(10_000) }, all)
    expect(await check('PATCH', path, huge)).to.include({ code: 'PAYLOAD_TOO_LARGE' })
  })

  it('PATCH /point/{id}/use: 200, 409, 503', async function () {
    const path = '/point/{id}/use'
    await patchJson(`${served.url}/point/12/charge`, { amount: 50 }, all)
    expect(await check('PATCH', path, await patchJson(`${served.url}/point/12/use`, { amount: 20 }, all))).to.include({
      point: 30,
    })
    expect(await check('PATCH', path, await patchJson(`${served.url}/point/12/use`, { amount: 31 }, all))).to.include({
      code: 'INSUFFICIENT_BALANCE',
    })
    expect(await check('PATCH', path, await patchJson(`${down.url}/point/12/use`, { amount: 1 }, all))).to.include({
      code: 'STORE_UNAVAILABLE',
    })
  })

  it('GET /point/{id}/histories: 200 with events, 400', async function () {
    const path = '/point/{id}/histories'
    await patchJson(`${served.url}/point/13/charge`, { amount: 5 }, all)
    const history = await check('GET', path, await fetch(`${served.url}/point/13/histories`, { headers: all }))
    expect(history).to.have.length(1)
    expect(await check('GET', path, await fetch(`${served.url}/point/0/histories`, { headers: all }))).to.include({
      code: 'INVALID_REQUEST',
    })
  })

  it('the operations routes: health, readiness (ready, starting, store down), metrics, docs', async function () {
    expect(await check('GET', '/healthz', await fetch(`${served.url}/healthz`))).to.deep.equal({ status: 'ok' })
    expect(await check('GET', '/readyz', await fetch(`${served.url}/readyz`))).to.deep.equal({ status: 'ready' })
    expect(await check('GET', '/readyz', await fetch(`${starting.url}/readyz`))).to.include({ code: 'NOT_READY' })
    expect(await check('GET', '/readyz', await fetch(`${down.url}/readyz`))).to.include({ code: 'STORE_UNAVAILABLE' })
    expect(await check('GET', '/metrics', await fetch(`${served.url}/metrics`, { headers: all }))).to.contain('http_request_duration_seconds')
    expect(await check('GET', '/metrics', await fetch(`${served.url}/metrics`))).to.include({ code: 'UNAUTHORIZED' })
    await check('GET', '/openapi.json', await fetch(`${served.url}/openapi.json`))
    expect(await check('GET', '/docs', await fetch(`${served.url}/docs`))).to.contain('swagger-ui')
    await check('GET', '/docs/{file}', await fetch(`${served.url}/docs/swagger-ui.css`))
    await check('GET', '/docs/{file}', await fetch(`${served.url}/docs/init.js`))
    expect(await check('GET', '/docs/{file}', await fetch(`${served.url}/docs/package.json`))).to.include({
      code: 'NOT_FOUND',
    })
  })

  it('answers that match no operation still fit the Problem schema', async function () {
    const ajv = new Ajv2020({ strict: false })
    ajv.addSchema(openApiDocument({ limits, secured: true, serverUrl }), 'openapi.json')
    const problemSchema = ajv.getSchema('openapi.json#/components/schemas/Problem')!
    const answers = [
      await fetch(`${served.url}/nowhere`),
      await fetch(`${served.url}/healthz`, { method: 'DELETE' }),
      await fetch(`${served.url}/point/1`, { method: 'PURGE', headers: all }),
    ]
    expect(answers.map((r) => r.status)).to.deep.equal([404, 405, 501])
    for (const answer of answers) {
      expect(answer.headers.get('content-type')).to.match(/^application\/problem\+json/)
      const body: unknown = await answer.json()
      expect(problemSchema(body), JSON.stringify(body)).to.equal(true)
    }
  })
})

describe('the documented request shapes match the codecs', function () {
  const document = openApiDocument({ limits, secured: false, serverUrl })
  const ajv = new Ajv2020({ strict: false })
  ajv.addSchema(document, 'openapi.json')
  const bodySchema = ajv.getSchema('openapi.json#/components/schemas/AmountBody')!
  const operations = document['paths'] as Record<string, Record<string, Json>>
  const parameter = (path: string, method: string, name: string) => {
    const found = (operations[path]?.[method]?.['parameters'] as Json[]).find((p) => p['name'] === name)
    return ajv.compile(found?.['schema'] as Json)
  }
  const integers = fc.oneof(
    fc.integer({ min: -5, max: 5 }),
    fc.integer({ min: 9_990, max: 10_010 }),
    fc.maxSafeInteger(),
    fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 53 + 2),
  )

  it('the AmountBody schema accepts exactly the bodies the codec and the amount limit let through', function () {
    const amounts = fc.oneof(
      fc.integer({ min: -5, max: 5 }),
      fc.integer({ min: limits.maxAmount - 2, max: limits.maxAmount + 2 }),
      fc.maxSafeInteger(),
      fc.constantFrom(2 ** 53, 2 ** 53 + 2, 1e300, 0.5, -0),
      fc.double(),
      fc.string(),
      fc.constantFrom(null, true, [], {}),
    )
    const bodies = fc.oneof(
      fc.record({ amount: amounts }),
      fc.record({ amount: amounts, extra: fc.jsonValue() }),
      fc.record({ other: amounts }),
      fc.jsonValue(),
    )
    fc.assert(
      fc.property(bodies, (body) => {
        const decoded = AmountBody.decode(body)
        const accepted = E.isRight(decoded) && decoded.right.amount <= limits.maxAmount
        expect(bodySchema(body), JSON.stringify(body)).to.equal(accepted)
      }),
    )
  })

  it('the id parameter allows exactly the ids the codec accepts, written in decimal', function () {
    const idSchema = parameter('/point/{id}', 'get', 'id')
    fc.assert(
      fc.property(integers, (id) => {
        expect(idSchema(id), String(id)).to.equal(E.isRight(UserIdParam.decode(String(id))))
      }),
    )
  })

  it('the page parameters allow exactly the limits and positions the codec accepts', function () {
    const limitSchema = parameter('/point/{id}/histories', 'get', 'limit')
    const afterSchema = parameter('/point/{id}/histories', 'get', 'after')
    fc.assert(
      fc.property(integers, (n) => {
        expect(limitSchema(n), `limit ${n}`).to.equal(E.isRight(HistoryPageQuery.decode({ limit: String(n) })))
        expect(afterSchema(n), `after ${n}`).to.equal(E.isRight(HistoryPageQuery.decode({ after: String(n) })))
      }),
    )
  })

  it('the Idempotency-Key parameter allows exactly the keys the codec accepts', function () {
    const keySchema = parameter('/point/{id}/charge', 'patch', 'Idempotency-Key')
    const keys = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 300 }),
      fc.string({ unit: fc.constantFrom(' ', 'a', '~', '\t', 'é'), maxLength: 260 }),
      fc.constantFrom('', ' ', '   ', 'k', ' k ', 'x'.repeat(255), 'x'.repeat(256)),
    )
    fc.assert(
      fc.property(keys, (key) => {
        expect(keySchema(key), JSON.stringify(key)).to.equal(E.isRight(IdempotencyKeyHeader.decode(key)))
      }),
    )
  })

  it('the at parameter allows every instant the codec accepts, and refuses what it refuses by form', function () {
    const atSchema = parameter('/point/{id}', 'get', 'at')
    const instants = fc.oneof(
      fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.nat().map(String),
      fc.string(),
      fc.constantFrom('2026-01-01T00:00+09:00', '2026-01-01T00:00:00.123456789-05:30', '0'),
    )
    fc.assert(
      fc.property(instants, (at) => {
        if (E.isRight(InstantParam.decode(at))) expect(atSchema(at), at).to.equal(true)
      }),
    )
    for (const refused of ['2026-01-01', '2026-01-01T00:00:00', '2026-01-01t00:00:00z', '01', '+002026-01-01T00:00:00Z', 'now']) {
      expect(atSchema(refused), refused).to.equal(false)
    }
  })
})
