import { expect } from 'chai'
import helmet, { type HelmetOptions } from 'helmet'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { apiHeaders, documentHeaders } from '../../src/http/operations'
import { listen, opsApp, type Listening } from '../support/ops'

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

  it("are, on every kind of JSON answer, exactly helmet's per-request headers for the API's options, and Cache-Control: no-store", async function () {
    const expected: Record<string, string> = { ...(await helmetsOwn(apiHeaders.helmet)), 'cache-control': 'no-store' }
    expect(Object.keys(expected)).to.include.members(['content-security-policy', 'strict-transport-security', 'x-frame-options', 'x-content-type-options'])
    expect(expected['content-security-policy']).to.equal("default-src 'none';frame-ancestors 'none'")
    for (const path of ['/point/1', '/point/1/histories', '/point/abc', '/nowhere', '/healthz', '/openapi.json']) {
      const answer = await fetch(`${served.url}${path}`)
      expect(securityHeadersOf(answer), path).to.deep.equal(expected)
      expect(answer.headers.has('x-powered-by'), path).to.equal(false)
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
