import { expect } from 'chai'
import createClient, { type Client } from 'openapi-fetch'
import type { components, paths } from '../generated/api'
import { ResponseValidator } from '../support/openapi'
import { serveFixture } from '../support/server'
import type { StoreFixture } from '../stores/contract'

type Schemas = components['schemas']

const limits = { maxAmount: 1_000, maxBalance: 5_000 }
const keys = [
  { key: 'client-all-key', scopes: ['read', 'charge', 'use', 'metrics'] as const },
  { key: 'client-read-key', scopes: ['read'] as const },
]

/** What every openapi-fetch call resolves to: the parsed body is `data` on success, `error` otherwise. */
interface Outcome {
  readonly data?: unknown
  readonly error?: unknown
  readonly response: Response
}

/**
 * The typed client generated from the served document, calling every operation against a running server on
 * `fixture`'s store, with keys on. Each answer, problems included, is checked against the document the server
 * serves, and the typed bodies are read through the generated types, so a route that answers what its document
 * does not say fails here at run time, and a document whose types moved fails the typecheck.
 */
export function generatedClientSuite(name: string, fixture: () => Promise<StoreFixture>): void {
  describe(`generated client: ${name}`, function () {
    const served = serveFixture(fixture, { apiKeys: keys, limits })
    let validator: ResponseValidator
    let client: Client<paths>
    let anonymous: Client<paths>
    let reader: Client<paths>

    before(async function () {
      const { url } = served.server
      validator = new ResponseValidator((await (await fetch(`${url}/openapi.json`)).json()) as Record<string, unknown>)
      client = createClient<paths>({ baseUrl: url, headers: { authorization: 'Bearer client-all-key' } })
      reader = createClient<paths>({ baseUrl: url, headers: { authorization: 'Bearer client-read-key' } })
      anonymous = createClient<paths>({ baseUrl: url })
    })

    /** The answer's status, and its body as the served document describes it. */
    const documented = (method: string, path: string, outcome: Outcome, status: number): void => {
      expect(outcome.response.status, JSON.stringify(outcome.error ?? outcome.data)).to.equal(status)
      validator.expectFits(method, path, outcome.response, outcome.response.ok ? outcome.data : outcome.error)
    }
    const refused = (outcome: { error?: Schemas['Problem']; response: Response }, code: Schemas['Problem']['code']) => {
      expect(outcome.response.headers.get('content-type')).to.match(/^application\/problem\+json/)
      expect(outcome.error?.code).to.equal(code)
    }

    it('charges and uses, keyed and replayed, and gets each refusal as a typed problem', async function () {
      const path = { id: 7 }
      const charged = await client.PATCH('/point/{id}/charge', {
        params: { path, header: { 'Idempotency-Key': 'order-1' } },
        body: { amount: 600 },
      })
      documented('PATCH', '/point/{id}/charge', charged, 200)
      const balance: Schemas['UserPoint'] | undefined = charged.data
      expect(balance).to.include({ id: 7, point: 600 })

      const replayed = await client.PATCH('/point/{id}/charge', {
        params: { path, header: { 'Idempotency-Key': 'order-1' } },
        body: { amount: 600 },
      })
      documented('PATCH', '/point/{id}/charge', replayed, 200)
      expect(replayed.response.headers.get('idempotency-replayed')).to.equal('true')

      const reused = await client.PATCH('/point/{id}/charge', {
        params: { path, header: { 'Idempotency-Key': 'order-1' } },
        body: { amount: 5 },
      })
      documented('PATCH', '/point/{id}/charge', reused, 422)
      refused(reused, 'IDEMPOTENCY_KEY_REUSED')

      const tooMuch = await client.PATCH('/point/{id}/charge', { params: { path }, body: { amount: limits.maxAmount + 1 } })
      documented('PATCH', '/point/{id}/charge', tooMuch, 400)
      refused(tooMuch, 'AMOUNT_LIMIT_EXCEEDED')

      for (let point = 600; point + limits.maxAmount <= limits.maxBalance; point += limits.maxAmount) {
        documented('PATCH', '/point/{id}/charge', await client.PATCH('/point/{id}/charge', { params: { path }, body: { amount: limits.maxAmount } }), 200)
      }
      const over = await client.PATCH('/point/{id}/charge', { params: { path }, body: { amount: limits.maxAmount } })
      documented('PATCH', '/point/{id}/charge', over, 409)
      refused(over, 'BALANCE_LIMIT_EXCEEDED')

      const used = await client.PATCH('/point/{id}/use', { params: { path: { id: 7 } }, body: { amount: 100 } })
      documented('PATCH', '/point/{id}/use', used, 200)
      const short = await client.PATCH('/point/{id}/use', { params: { path: { id: 8 } }, body: { amount: 1 } })
      documented('PATCH', '/point/{id}/use', short, 409)
      refused(short, 'INSUFFICIENT_BALANCE')

      const forbidden = await reader.PATCH('/point/{id}/use', { params: { path }, body: { amount: 1 } })
      documented('PATCH', '/point/{id}/use', forbidden, 403)
      refused(forbidden, 'FORBIDDEN')
    })

    it('reads balances, now and as of an instant, and histories a page at a time', async function () {
      for (const amount of [10, 20, 30]) await client.PATCH('/point/{id}/charge', { params: { path: { id: 9 } }, body: { amount } })

      const now = await client.GET('/point/{id}', { params: { path: { id: 9 } } })
      documented('GET', '/point/{id}', now, 200)
      expect(now.data?.point).to.equal(60)
      const then = await client.GET('/point/{id}', { params: { path: { id: 9 }, query: { at: '1970-01-01T00:00:00Z' } } })
      documented('GET', '/point/{id}', then, 200)
      expect(then.data?.point).to.equal(0)
      const badInstant = await client.GET('/point/{id}', { params: { path: { id: 9 }, query: { at: 'yesterday' } } })
      documented('GET', '/point/{id}', badInstant, 400)
      refused(badInstant, 'INVALID_REQUEST')
      const noKey = await anonymous.GET('/point/{id}', { params: { path: { id: 9 } } })
      documented('GET', '/point/{id}', noKey, 401)
      refused(noKey, 'UNAUTHORIZED')

      const first = await client.GET('/point/{id}/histories', { params: { path: { id: 9 }, query: { limit: 2 } } })
      documented('GET', '/point/{id}/histories', first, 200)
      const rows: Schemas['PointHistory'][] | undefined = first.data
      expect(rows?.map((row) => row.amount)).to.deep.equal([10, 20])
      const next = /after=(\d+)/.exec(first.response.headers.get('link') ?? '')?.[1]
      const rest = await client.GET('/point/{id}/histories', { params: { path: { id: 9 }, query: { limit: 2, after: Number(next) } } })
      documented('GET', '/point/{id}/histories', rest, 200)
      expect(rest.data?.map((row) => row.amount)).to.deep.equal([30])
      const badLimit = await client.GET('/point/{id}/histories', { params: { path: { id: 9 }, query: { limit: 0 } } })
      documented('GET', '/point/{id}/histories', badLimit, 400)
      refused(badLimit, 'INVALID_REQUEST')
    })

    it('calls the operations routes: health, readiness, metrics, the document and its page', async function () {
      const live = await client.GET('/healthz')
      documented('GET', '/healthz', live, 200)
      const status: Schemas['Status'] | undefined = live.data
      expect(status).to.deep.equal({ status: 'ok' })
      documented('GET', '/readyz', await client.GET('/readyz'), 200)

      const metrics = await client.GET('/metrics', { parseAs: 'text' })
      documented('GET', '/metrics', metrics, 200)
      expect(metrics.data).to.contain('http_request_duration_seconds')
      documented('GET', '/metrics', await reader.GET('/metrics', { parseAs: 'text' }), 403)

      const document = await anonymous.GET('/openapi.json')
      documented('GET', '/openapi.json', document, 200)
      expect(document.data).to.have.property('openapi', '3.1.0')
      documented('GET', '/docs', await anonymous.GET('/docs', { parseAs: 'text' }), 200)
      const style = await anonymous.GET('/docs/{file}', { params: { path: { file: 'swagger-ui.css' } }, parseAs: 'text' })
      documented('GET', '/docs/{file}', style, 200)
      const missing = await anonymous.GET('/docs/{file}', { params: { path: { file: 'package.json' } } })
      documented('GET', '/docs/{file}', missing, 404)
      refused(missing, 'NOT_FOUND')
    })
  })
}
