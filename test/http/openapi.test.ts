import Ajv2020 from 'ajv/dist/2020'
import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import { openApiDocument } from '../../src/http/openapi'
import { problemCatalog, type ProblemCode } from '../../src/http/problem'
import { AmountBody, UserIdParam } from '../../src/http/requests'
import { downStore, limits, listen, opsApp, routersOf, type Listening } from '../support/ops'
import { ResponseValidator } from '../support/openapi'
import { patchJson, startTestServer } from '../support/server'

type Json = Record<string, unknown>

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
      const document = openApiDocument({ limits, secured })
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
        expect(body).to.deep.equal(JSON.parse(JSON.stringify(openApiDocument({ limits, secured: true }))))
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
  const validator = new ResponseValidator(openApiDocument({ limits, secured: true }))
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
    ajv.addSchema(openApiDocument({ limits, secured: true }), 'openapi.json')
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
  const document = openApiDocument({ limits, secured: false })
  const ajv = new Ajv2020({ strict: false })
  ajv.addSchema(document, 'openapi.json')
  const bodySchema = ajv.getSchema('openapi.json#/components/schemas/AmountBody')!
  const idParameter = (document['paths'] as Record<string, Record<string, Json>>)['/point/{id}']?.['get']?.['parameters'] as Json[]
  const idPattern = new RegExp(String((idParameter[0]?.['schema'] as Json)['pattern']))

  it('the AmountBody schema accepts exactly the bodies the codec accepts', function () {
    const amounts = fc.oneof(
      fc.integer({ min: -5, max: 5 }),
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
        expect(bodySchema(body), JSON.stringify(body)).to.equal(E.isRight(AmountBody.decode(body)))
      }),
    )
  })

  it('the id pattern accepts every id the codec accepts, and refuses what it refuses short of the size limit', function () {
    const ids = fc.oneof(
      fc.string(),
      fc.stringMatching(/^-?[0-9]{1,20}$/),
      fc.maxSafeNat().map(String),
      fc.constantFrom('abc', '0', '-1', '1.5', '1abc', '1e3', '0x10', '01', '9007199254740992'),
    )
    fc.assert(
      fc.property(ids, (id) => {
        const accepted = E.isRight(UserIdParam.decode(id))
        if (accepted) expect(idPattern.test(id), id).to.equal(true)
        else if (id.length < 16) expect(idPattern.test(id), id).to.equal(false)
      }),
    )
  })
})
