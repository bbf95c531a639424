import { expect } from 'chai'
import { Writable } from 'node:stream'
import pino from 'pino'
import { parseConfig } from '../../src/config'
import { startService } from '../../src/service'
import { openSocket, parseRaw, readToEnd, sendRaw, type RawResponse } from '../support/raw-http'
import { apiSecurityHeaders, securityHeadersAmong } from '../support/security-headers'
import { testConfig } from '../support/server'

const headersTimeoutMs = 200
const requestTimeoutMs = 400

// Written by hand past Koa, these refusals still carry every JSON answer's security headers.
const expectProblem = (answer: RawResponse, status: number, code: string): Record<string, unknown> => {
  expect(answer.status, answer.body).to.equal(status)
  expect(answer.headers['content-type']).to.equal('application/problem+json')
  expect(securityHeadersAmong(answer.headers)).to.deep.equal(apiSecurityHeaders)
  const body = JSON.parse(answer.body) as Record<string, unknown>
  expect(body).to.include({ status, code })
  expect(body['detail']).to.be.a('string')
  return body
}

describe('the HTTP server limits', function () {
  const lines: string[] = []
  let url: string
  let stop: () => Promise<void>
  before(async function () {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString())
        done()
      },
    })
    const config = testConfig({ http: { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs: 1_000 } })
    const service = await startService(config, pino({ level: 'info' }, sink))
    const { port } = service.server.address() as { port: number }
    url = `http://127.0.0.1:${port}`
    stop = () => service.stop()
  })
  after(async function () {
    await stop()
  })

  it('cuts off a client that sends its headers, then its body slowly, with 408 problem+json, applying nothing', async function () {
    const socket = await openSocket(url)
    const answer = readToEnd(socket)
    const started = performance.now()
    socket.write('PATCH /point/1/charge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"amo')
    const cutOff = parseRaw(await answer)
    const elapsed = performance.now() - started
    expectProblem(cutOff, 408, 'REQUEST_TIMEOUT')
    // Node checks every quarter of the headers timeout, so the cut comes soon after the setting, far before Node's 300 s.
    expect(elapsed).to.be.at.least(requestTimeoutMs - 50).and.below(requestTimeoutMs + 2_000)
    expect(await (await fetch(`${url}/point/1`)).json()).to.include({ point: 0 })
  })

  it('cuts off a client that never finishes its headers with 408 problem+json', async function () {
    const socket = await openSocket(url)
    const answer = readToEnd(socket)
    socket.write('GET /point/1 HTTP/1.1\r\nHost: x\r\nX-Slow: ')
    expectProblem(parseRaw(await answer), 408, 'REQUEST_TIMEOUT')
  })

  it('answers oversized headers 431 problem+json', async function () {
    const answer = await sendRaw(url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20 * 1024)}\r\n\r\n`)
    expectProblem(answer, 431, 'HEADERS_TOO_LARGE')
  })

  it('answers a malformed request line 400 problem+json without echoing it', async function () {
    const answer = await sendRaw(url, 'GET /healthz secret-in-the-line\r\n\r\n')
    expectProblem(answer, 400, 'INVALID_REQUEST')
    expect(answer.body).to.not.include('secret')
    const garbage = await sendRaw(url, 'hunter2 hunter2\r\n\r\n')
    expectProblem(garbage, 400, 'INVALID_REQUEST')
    expect(garbage.body).to.not.include('hunter2')
    expect(lines.join('')).to.not.include('hunter2')
  })

  it('lets an idle keep-alive connection go after the keep-alive timeout', async function () {
    const socket = await openSocket(url)
    const answer = readToEnd(socket)
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    // The server closes the idle connection itself; the test only waits for that.
    expect(parseRaw(await answer).status).to.equal(200)
  })
})

describe('health routes and other routes without a body', function () {
  let url: string
  let stop: () => Promise<void>
  before(async function () {
    const service = await startService(testConfig(), pino({ level: 'silent' }))
    url = `http://127.0.0.1:${(service.server.address() as { port: number }).port}`
    stop = () => service.stop()
  })
  after(async function () {
    await stop()
  })

  for (const path of ['/healthz', '/readyz', '/point/1', '/point/1/histories', '/openapi.json']) {
    it(`GET ${path} ignores a malformed JSON body`, async function () {
      const body = '{"amount": '
      const answer = await sendRaw(
        url,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      )
      expect(answer.status, answer.body).to.equal(200)
    })
  }
})

describe('HTTP_* timeout settings', function () {
  it('default to at most 15 s, headers first', function () {
    const config = parseConfig({})
    if (config._tag === 'Left') throw new Error(config.left)
    expect(config.right.http).to.deep.equal({ headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 })
  })

  it('are read from the environment and refuse a headers timeout over the request timeout', function () {
    const config = parseConfig({ HTTP_HEADERS_TIMEOUT_MS: '100', HTTP_REQUEST_TIMEOUT_MS: '200', HTTP_KEEP_ALIVE_TIMEOUT_MS: '300' })
    if (config._tag === 'Left') throw new Error(config.left)
    expect(config.right.http).to.deep.equal({ headersTimeoutMs: 100, requestTimeoutMs: 200, keepAliveTimeoutMs: 300 })
    const refused = parseConfig({ HTTP_HEADERS_TIMEOUT_MS: '300', HTTP_REQUEST_TIMEOUT_MS: '200' })
    expect(refused).to.have.property('_tag', 'Left')
    expect(parseConfig({ HTTP_REQUEST_TIMEOUT_MS: '0' })).to.have.property('_tag', 'Left')
  })
})
