import { expect } from 'chai'
import helmet from 'helmet'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { helmetOptions } from '../../src/http/operations'
import { listen, opsApp, type Listening } from '../support/ops'

/** The headers helmet's own middleware sets on a plain Node response for these options, answered per request. */
const helmetServer = (): Promise<{ url: string; server: Server }> => {
  const perRequest = helmet(helmetOptions)
  const server = createServer((req, res) => perRequest(req, res, () => res.end()))
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })))
}

// The headers that are the answer's own rather than the security policy's.
const ownHeaders = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'x-request-id', 'x-powered-by', 'allow'])
const securityHeadersOf = (response: Response): Record<string, string> =>
  Object.fromEntries([...response.headers].filter(([name]) => !ownHeaders.has(name)))

describe('security headers worked out once', function () {
  let served: Listening
  before(async function () {
    served = await listen(opsApp().app)
  })
  after(async function () {
    await served.close()
  })

  it('are, on every kind of answer, exactly the headers helmet sets per request for the same options', async function () {
    const reference = await helmetServer()
    try {
      const expected = securityHeadersOf(await fetch(reference.url))
      expect(Object.keys(expected)).to.include.members(['content-security-policy', 'strict-transport-security', 'x-frame-options'])
      for (const path of ['/point/1', '/point/abc', '/nowhere', '/healthz']) {
        const answer = await fetch(`${served.url}${path}`)
        expect(securityHeadersOf(answer), path).to.deep.equal(expected)
        expect(answer.headers.has('x-powered-by'), path).to.equal(false)
      }
    } finally {
      await new Promise((resolve) => reference.server.close(resolve))
    }
  })
})
