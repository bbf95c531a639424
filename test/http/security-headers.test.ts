import { expect } from 'chai'
import helmet, { type HelmetOptions } from 'helmet'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { documentHeaders } from '../../src/http/security-headers'
import { listen, opsApp, type Listening } from '../support/ops'
import { apiSecurityHeaders } from '../support/security-headers'

/** The headers helmet's own middleware sets on a plain Node response for these options, answered per request. */
const helmetServer = (options: HelmetOptions): Promise<{ url: string; server: Server }> => {
  const perRequest = helmet(options)
  const server = createServer((req, res) => perRequest(req, res, () => res.end()))
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })))
}

/** What helmet's own middleware answers for `options`. */
async function helmetsOwn(options: HelmetOptions): Promise<Record<string, string>> {
  const reference = await helmetServer(options)
  try {
    return securityHeadersOf(await fetch(reference.url))
  } finally {
    await new Promise((resolve) => reference.server.close(resolve))
  }
}

// The headers that are the answer's own rather than the security policy's.
const ownHeaders = new Set(['content-type', 'content-length', 'transfer-encoding', 'date', 'connection', 'keep-alive', 'x-request-id', 'x-powered-by', 'allow'])
const securityHeadersOf = (response: Response, alsoOwn: readonly string[] = []): Record<string, string> =>
  Object.fromEntries([...response.headers].filter(([name]) => !ownHeaders.has(name) && !alsoOwn.includes(name)))

describe('security headers worked out once', function () {
  let served: Listening
  before(async function () {
    served = await listen(opsApp().app)
  })
  after(async function () {
    await served.close()
  })

  it('are, on every kind of JSON answer, the API set: a policy of nothing, no framing, no sniffing, HSTS, no caching', async function () {
    const expected = apiSecurityHeaders
    const charge = { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"amount":1}' }
    const answers: [string, RequestInit][] = [
      ['/point/1', {}],
      ['/point/1/charge', charge],
      ['/point/1/histories', {}],
      ['/point/abc', {}],
      ['/nowhere', {}],
      ['/point/1', { method: 'DELETE' }],
      ['/point/1', { method: 'PROPFIND' }],
      ['/events', {}],
      ['/healthz', {}],
      ['/readyz', {}],
      ['/metrics', {}],
      ['/openapi.json', {}],
      ['/docs/nothing-shipped.js', {}],
      ['/docs/', {}],
    ]
    const statuses: number[] = []
    for (const [path, init] of answers) {
      const answer = await fetch(`${served.url}${path}`, init)
      statuses.push(answer.status)
      expect(securityHeadersOf(answer), `${init.method ?? 'GET'} ${path}`).to.deep.equal(expected)
      await answer.arrayBuffer()
    }
    // Answers, refusals, a 404 from the docs' own route, a 405 and a 501 alike.
    expect(statuses).to.include.members([200, 400, 404, 405, 501])
  })

  it('are the API set on a feed stream too, as soon as its headers are sent', async function () {
    const stop = new AbortController()
    const answer = await fetch(`${served.url}/events/stream`, { signal: stop.signal })
    try {
      expect(answer.status).to.equal(200)
      expect(answer.headers.get('content-security-policy')).to.equal("default-src 'none';frame-ancestors 'none'")
      expect(answer.headers.get('x-frame-options')).to.equal('DENY')
      expect(answer.headers.get('cache-control')).to.equal('no-store')
    } finally {
      stop.abort()
    }
  })

  it("are, on the docs page and its files, exactly helmet's per-request headers for an HTML document's options", async function () {
    const expected = await helmetsOwn(documentHeaders.helmet)
    expect(expected['content-security-policy']).to.contain("script-src 'self'")
    for (const path of ['/docs', '/docs/init.js', '/docs/swagger-ui.css']) {
      const answer = await fetch(`${served.url}${path}`)
      expect(answer.status, path).to.equal(200)
      // A file of swagger-ui-dist says how long it may be cached; the page and its script keep the API's no-store.
      expect(securityHeadersOf(answer, ['cache-control']), path).to.deep.equal(expected)
      expect(answer.headers.get('cache-control'), path).to.equal(path.endsWith('.css') ? 'public, max-age=86400' : 'no-store')
      await answer.arrayBuffer()
    }
  })
})
