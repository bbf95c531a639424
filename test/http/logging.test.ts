import { expect } from 'chai'
import { request } from 'node:http'
import { Writable } from 'node:stream'
import pino, { type DestinationStream, type Level, type Logger } from 'pino'
import { createLogger } from '../../src/http/logging'
import { listen, opsApp, type Listening } from '../support/ops'
import { patchJson } from '../support/server'

/** A pino destination that keeps every line in memory. */
class Captured extends Writable {
  readonly text: string[] = []

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text.push(chunk.toString())
    done()
  }

  get lines(): Record<string, unknown>[] {
    return this.text.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
  }

  requests(): Record<string, unknown>[] {
    return this.lines.filter((line) => line['msg'] === 'request completed' || line['msg'] === 'request failed')
  }
}

const secret = 'sk-live-do-not-log-me'

describe('request logs', function () {
  let captured: Captured
  let served: Listening

  const serve = async (level: Level = 'debug', loggerOf: (level: Level, destination: DestinationStream) => Logger = createLogger) => {
    captured = new Captured()
    const logger = loggerOf(level, captured)
    served = await listen(opsApp({ logger, apiKeys: [{ key: secret, scopes: ['read', 'charge', 'use', 'metrics'] }] }).app)
  }
  afterEach(async function () {
    await served.close()
  })

  it('writes one JSON line per request with its id, route, status and duration', async function () {
    await serve()
    const response = await fetch(`${served.url}/point/42`, { headers: { authorization: `Bearer ${secret}` } })
    const id = response.headers.get('x-request-id')
    expect(id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)

    const [line, ...more] = captured.requests()
    expect(more).to.deep.equal([])
    expect(line).to.include({ level: 30, reqId: id, route: '/point/:id', status: 200 })
    expect(line?.['req']).to.deep.include({ method: 'GET', url: '/point/42' })
    expect(line?.['durationMs']).to.be.a('number').and.to.be.greaterThan(0)
  })

  it("keeps a caller's sane X-Request-Id and echoes it", async function () {
    await serve()
    const response = await fetch(`${served.url}/healthz`, { headers: { 'x-request-id': 'edge-7f3a.01:retry-2' } })
    expect(response.headers.get('x-request-id')).to.equal('edge-7f3a.01:retry-2')
    expect(captured.requests()[0]).to.include({ reqId: 'edge-7f3a.01:retry-2', route: '/healthz' })
  })

  it('replaces an X-Request-Id that is too long or could forge log lines', async function () {
    await serve()
    for (const given of ['x'.repeat(129), 'a b', 'id"}{"level":60', '']) {
      const response = await fetch(`${served.url}/healthz`, { headers: { 'x-request-id': given } })
      const echoed = response.headers.get('x-request-id')
      expect(echoed).to.not.equal(given)
      expect(echoed).to.match(/^[0-9a-f-]{36}$/)
    }
  })

  it('never writes an API key, whether the request is let in, refused or broken', async function () {
    await serve('trace')
    const auth = { authorization: `Bearer ${secret}` }
    await fetch(`${served.url}/point/1`, { headers: auth })
    await patchJson(`${served.url}/point/1/charge`, { amount: 5 }, auth)
    await patchJson(`${served.url}/point/1/use`, { amount: 500 }, auth)
    await fetch(`${served.url}/point/1`, { headers: { authorization: `Bearer ${secret}x` } })
    await fetch(`${served.url}/point/1/charge`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: '{' })
    await fetch(`${served.url}/metrics`, { headers: { ...auth, cookie: `session=${secret}` } })

    expect(captured.requests()).to.have.length(6)
    expect(captured.requests().map((line) => line['status'])).to.deep.equal([200, 200, 409, 401, 400, 200])
    expect(captured.text.join('')).to.not.contain(secret)
    for (const line of captured.requests()) expect(line['req']).to.not.have.nested.property('headers.authorization')
  })

  it('keeps only the tracing headers in a line: no credential under any spelling, no other header', async function () {
    await serve('trace')
    const credentials = {
      authorization: `Bearer ${secret}`,
      'Proxy-Authorization': `Basic ${secret}`,
      COOKIE: `session=${secret}`,
      'x-api-key': secret,
      'X-Api_Key': secret,
      'x-auth-token': secret,
      'x-amz-security-token': secret,
      'x-csrf-token': secret,
      'x-jwt': secret,
      'x-webhook-sig': secret,
      'x-client-cert': secret,
      'x-hub-signature-256': secret,
      // A credential under a name no rule could foresee, and a URL whose query holds one.
      'x-partner-vault': secret,
      referer: `https://shop.example/checkout?token=${secret}`,
    }
    const tracing = {
      'user-agent': 'ledger-client/2.1',
      'idempotency-key': 'order-17',
      'x-forwarded-for': '203.0.113.7, 10.0.0.2',
      forwarded: 'for=203.0.113.7;proto=https',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    }
    await patchJson(`${served.url}/point/1/charge`, { amount: 5 }, { ...credentials, ...tracing, accept: 'application/json' })

    expect(captured.text.join('')).to.not.contain(secret)
    const [line] = captured.requests()
    expect(line).to.include({ status: 200 })
    // Idempotency-Key names a command, not a caller: it stays in the log to trace retries.
    expect((line?.['req'] as { headers: unknown }).headers).to.deep.equal({
      'content-type': 'application/json',
      'content-length': String(JSON.stringify({ amount: 5 }).length),
      ...tracing,
    })
  })

  it('censors every credential-bearing query parameter, and keeps the rest as sent', async function () {
    await serve('trace')
    const query = [
      `token=${secret}`,
      `ACCESS_TOKEN=${secret}`,
      `api%5Fkey=${secret}`,
      `ApiKey=${secret}`,
      `key=${secret}`,
      `Password=${secret}`,
      `client_secret=${secret}`,
      `X-Amz-Signature=${secret}`,
      `sig=${secret}`,
      `jwt=${secret}`,
      `code=${secret}`,
      `bearer=${secret}`,
      `id_token=${secret}`,
      `refresh_token=${secret}`,
      `Client_Secret=${secret}`,
      'limit=5',
      'after=2',
      'postal%5Fcode=3000-1',
      'codec=a%20b+c',
      'idempotency_key=order-17',
      'flag',
    ].join('&')
    await fetch(`${served.url}/point/1/histories?${query}`)
    await fetch(`${served.url}/healthz?access_token=${secret}`)

    expect(captured.text.join('')).to.not.contain(secret)
    const [histories, health] = captured.requests()
    const censored = query
      .split('&')
      .map((pair) => (pair.includes(secret) ? `${pair.slice(0, pair.indexOf('='))}=[redacted]` : pair))
      .join('&')
    expect((histories?.['req'] as { url: string }).url).to.equal(`/point/1/histories?${censored}`)
    expect((histories?.['req'] as { url: string }).url).to.match(/&limit=5&after=2&postal%5Fcode=3000-1&codec=a%20b\+c&idempotency_key=order-17&flag$/)
    expect((health?.['req'] as { url: string }).url).to.equal('/healthz?access_token=[redacted]')
  })

  it('censors the credentials of a request whatever logger the service is given, one that redacts nothing too', async function () {
    await serve('trace', (level, destination) => pino({ level }, destination))
    const headers = {
      authorization: `Bearer ${secret}`,
      'proxy-authorization': `Basic ${secret}`,
      cookie: `session=${secret}`,
      'set-cookie': `session=${secret}`,
      'x-api-key': secret,
      'x-auth-token': secret,
    }
    await fetch(`${served.url}/point/1?access_token=${secret}`, { headers })

    expect(captured.requests()).to.have.length(1)
    expect(captured.text.join('')).to.not.contain(secret)
    const req = captured.requests()[0]?.['req'] as { url: string; headers: Record<string, string> }
    for (const name of Object.keys(headers)) expect(req.headers, name).to.not.have.property(name)
    expect(req.url).to.equal('/point/1?access_token=[redacted]')
  })

  it("keeps pino's redaction of credential headers in the service logger's other lines", function () {
    const other = new Captured()
    createLogger('info', other).info({ req: { headers: { authorization: `Bearer ${secret}`, cookie: secret } }, res: { headers: { 'set-cookie': secret } } }, 'other')

    expect(other.text.join('')).to.not.contain(secret)
    expect(other.lines[0]).to.deep.include({ req: { headers: { authorization: '[redacted]', cookie: '[redacted]' } }, res: { headers: { 'set-cookie': '[redacted]' } } })
  })

  it('takes its level from LOG_LEVEL: at warn, answered requests are not logged', async function () {
    await serve('warn')
    await fetch(`${served.url}/point/1`)
    expect(captured.lines).to.deep.equal([])
  })

  it('logs probes and scrapes only at debug', async function () {
    await serve('info')
    await fetch(`${served.url}/healthz`)
    await fetch(`${served.url}/readyz`)
    await fetch(`${served.url}/metrics`)
    await fetch(`${served.url}/point/1`, { headers: { authorization: `Bearer ${secret}` } })
    expect(captured.requests().map((line) => line['route'])).to.deep.equal(['/point/:id'])
  })

  it('logs a method the service does not implement (501) as a completed request, not as a failure of the service', async function () {
    await serve('info')
    const status = await new Promise<number | undefined>((answered, failed) => {
      const url = new URL(`${served.url}/point/1`)
      request({ host: url.hostname, port: url.port, path: url.pathname, method: 'TRACE' }, (response) => {
        response.resume()
        answered(response.statusCode)
      })
        .on('error', failed)
        .end()
    })
    expect(status).to.equal(501)
    const [line, ...more] = captured.requests()
    expect(more).to.deep.equal([])
    expect(line).to.include({ level: 30, msg: 'request completed', status: 501 })
  })
})
