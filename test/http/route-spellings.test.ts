import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import type { ApiKey } from '../../src/api-keys'
import type { UserId } from '../../src/events/model'
import type { MemoryStore } from '../../src/stores/memory'
import { listen, opsApp, type Listening, type OpsApp } from '../support/ops'
import { sendRaw } from '../support/raw-http'
import { fastMemoryStore } from '../support/tables'

const keys: ApiKey[] = [
  { key: 'reader-1', scopes: ['read'] },
  { key: 'topup-1', scopes: ['charge'] },
  { key: 'till-1', scopes: ['use'] },
  { key: 'scraper-1', scopes: ['metrics'] },
  { key: 'follower-1', scopes: ['feed'] },
  { key: 'holder-1', scopes: ['hold'] },
  { key: 'refunder-1', scopes: ['refund'] },
]

const user = 7 as UserId

/** A guarded route: how to call it, the scope it needs, a key without it, and what a write there adds. */
interface Guarded {
  readonly method: 'GET' | 'PATCH'
  readonly path: string
  readonly right: string
  readonly wrong: string
  readonly body?: string
  /** Points the route moves when applied. */
  readonly moves: number
  /** What the right key gets when the route's handler refuses the command, instead of 200. */
  readonly refused?: readonly [number, string]
}

const guarded: Guarded[] = [
  { method: 'GET', path: `/point/${user}`, right: 'reader-1', wrong: 'topup-1', moves: 0 },
  { method: 'GET', path: `/point/${user}/histories`, right: 'reader-1', wrong: 'scraper-1', moves: 0 },
  { method: 'PATCH', path: `/point/${user}/charge`, right: 'topup-1', wrong: 'reader-1', body: '{"amount":10}', moves: 10 },
  { method: 'PATCH', path: `/point/${user}/use`, right: 'till-1', wrong: 'topup-1', body: '{"amount":2}', moves: -2 },
  // Event 3 is the first use, of 2: refunded 1 at a time, once canonically and once with the id's digit encoded.
  { method: 'PATCH', path: `/point/${user}/refund`, right: 'refunder-1', wrong: 'till-1', body: '{"useId":3,"amount":1}', moves: 1 },
  // A hold reserves points and moves none: it changes neither the balance nor the history.
  { method: 'PATCH', path: `/point/${user}/hold`, right: 'holder-1', wrong: 'till-1', body: '{"amount":1}', moves: 0 },
  { method: 'GET', path: `/point/${user}/holds`, right: 'reader-1', wrong: 'holder-1', moves: 0 },
  // No such hold: the right key reaches the handler, which refuses; every other spelling or key never gets there.
  { method: 'PATCH', path: `/point/${user}/holds/999/capture`, right: 'holder-1', wrong: 'till-1', body: '{}', moves: 0, refused: [404, 'HOLD_NOT_FOUND'] },
  { method: 'PATCH', path: `/point/${user}/holds/999/release`, right: 'holder-1', wrong: 'reader-1', moves: 0, refused: [404, 'HOLD_NOT_FOUND'] },
  { method: 'GET', path: '/metrics', right: 'scraper-1', wrong: 'reader-1', moves: 0 },
  { method: 'GET', path: '/events', right: 'follower-1', wrong: 'reader-1', moves: 0 },
]

const segments = (path: string): string[] => path.split('/').slice(1)
const join = (parts: readonly string[]): string => `/${parts.join('/')}`
const hex = (letter: string, upper: boolean): string => {
  const code = letter.charCodeAt(0).toString(16)
  return `%${upper ? code.toUpperCase() : code}`
}

/** Every other spelling of `path` the walk tries, each with what it varies. */
const spellings = (path: string): { readonly kind: string; readonly path: string }[] => {
  const parts = segments(path)
  const named = parts.flatMap((part, index) => (/^[a-z]+$/.test(part) ? [index] : []))
  const replace = (index: number, by: string) => join(parts.map((part, at) => (at === index ? by : part)))
  const cased = named.flatMap((index) => {
    const part = parts[index] ?? ''
    return [
      part.toUpperCase(),
      part.charAt(0).toUpperCase() + part.slice(1),
      part.slice(0, -1) + part.slice(-1).toUpperCase(),
    ].map((by) => ({ kind: 'case', path: replace(index, by) }))
  })
  const encoded = named.flatMap((index) => {
    const part = parts[index] ?? ''
    return [
      hex(part.charAt(0), false) + part.slice(1),
      part.slice(0, 1) + hex(part.charAt(1), true) + part.slice(2),
    ].map((by) => ({ kind: 'percent-encoded letter', path: replace(index, by) }))
  })
  const slashes = parts.map((_, index) => ({
    kind: 'doubled slash',
    path: `/${parts.slice(0, index).map((part) => `${part}/`).join('')}/${parts.slice(index).join('/')}`,
  }))
  const encodedSlashes = parts.slice(1).map((_, index) => ({
    kind: '%2F',
    path: `/${parts.slice(0, index + 1).join('/')}%2F${parts.slice(index + 1).join('/')}`,
  }))
  // The router decodes a parameter, so an encoded digit names the same user: it gets the canonical treatment.
  const digit = parts.flatMap((part, index) =>
    /^[0-9]+$/.test(part) ? [{ kind: 'percent-encoded id digit', path: replace(index, hex(part.charAt(0), false) + part.slice(1)) }] : [],
  )
  const zero = parts.flatMap((part, index) => (/^[0-9]+$/.test(part) ? [{ kind: 'leading zero', path: replace(index, `0${part}`) }] : []))
  return [
    ...cased,
    { kind: 'trailing slash', path: `${path}/` },
    ...slashes,
    ...encodedSlashes,
    ...encoded,
    ...zero,
    ...digit,
    { kind: 'case and trailing slash', path: `${path.toUpperCase()}/` },
  ]
}

const presented = {
  none: undefined,
  unknown: 'nobody-9',
} as const

type KeyCase = 'none' | 'unknown' | 'wrong' | 'right'
const keyCases: KeyCase[] = ['none', 'unknown', 'wrong', 'right']

const keyFor = (route: Guarded, which: KeyCase): string | undefined =>
  which === 'right' ? route.right : which === 'wrong' ? route.wrong : presented[which]

describe('every spelling of every guarded route, crossed with every kind of key', function () {
  let ops: OpsApp
  let store: MemoryStore
  let served: Listening
  beforeEach(async function () {
    store = fastMemoryStore()
    ops = opsApp({ apiKeys: keys, store })
    served = await listen(ops.app)
  })
  afterEach(async function () {
    await served.close()
  })

  const call = (route: Guarded, path: string, key: string | undefined): Promise<Response> =>
    fetch(`${served.url}${path}`, {
      method: route.method,
      headers: {
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
        ...(route.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: route.body,
    })

  /** The user's balance and event count, read on the store itself. */
  const written = async (): Promise<{ point: number; events: number }> => {
    const balance = await store.balance(user)()
    const history = await store.history(user)()
    if (E.isLeft(balance) || E.isLeft(history)) throw new Error('the store failed')
    return { point: balance.right.point, events: history.right.length }
  }

  const expectProblem = async (response: Response, status: number, code: string, what: string): Promise<void> => {
    const text = await response.text()
    expect(response.status, `${what}: ${text}`).to.equal(status)
    expect(response.headers.get('content-type'), what).to.match(/^application\/problem\+json/)
    expect(JSON.parse(text), what).to.include({ status, code })
  }

  const expected = (which: KeyCase): [number, string] =>
    which === 'right' ? [400, 'INVALID_REQUEST'] : which === 'wrong' ? [403, 'FORBIDDEN'] : [401, 'UNAUTHORIZED']

  it('applies only the canonical spelling with the right key; refuses every other pair and writes nothing for it', async function () {
    this.timeout(60_000)
    const balance = { point: 0, events: 0 }
    const canonical = async (route: Guarded, path: string, kind: string) => {
      for (const which of keyCases) {
        const what = `${route.method} ${path} (${kind}) with ${which} key`
        const response = await call(route, path, keyFor(route, which))
        if (which === 'right' && route.refused !== undefined) {
          await expectProblem(response, ...route.refused, what)
        } else if (which === 'right') {
          expect(response.status, what).to.equal(200)
          await response.arrayBuffer()
          if (route.moves !== 0) Object.assign(balance, { point: balance.point + route.moves, events: balance.events + 1 })
        } else {
          const [status, code] = which === 'wrong' ? [403, 'FORBIDDEN'] : [401, 'UNAUTHORIZED']
          await expectProblem(response, status, code, what)
        }
        expect(await written(), what).to.deep.equal(balance)
      }
    }
    for (const route of guarded) {
      await canonical(route, route.path, 'canonical')
      for (const spelling of spellings(route.path)) {
        if (spelling.kind === 'percent-encoded id digit') {
          await canonical(route, spelling.path, spelling.kind)
          continue
        }
        for (const which of keyCases) {
          const what = `${route.method} ${spelling.path} (${spelling.kind}) with ${which} key`
          const response = await call(route, spelling.path, keyFor(route, which))
          if (spelling.kind === 'leading zero') await expectProblem(response, ...expected(which), what)
          else if (spelling.kind === '%2F') {
            // An encoded slash stays inside one segment: at most it reaches `/point/:id` with an id that is refused.
            expect(response.status, what).to.be.oneOf([400, 401, 403, 404, 405])
            expect(response.headers.get('content-type'), what).to.match(/^application\/problem\+json/)
          } else await expectProblem(response, 404, 'NOT_FOUND', what)
          expect(await written(), what).to.deep.equal(balance)
        }
      }
    }
    // Charged, used and refunded twice each: once canonically, once with the id's digit encoded.
    expect(balance).to.deep.equal({ point: 18, events: 6 })
  })

  it('while draining, refuses every spelling of the API without running it, whatever the key', async function () {
    ops.lifecycle.drain()
    for (const route of guarded.filter(({ path }) => path.startsWith('/point'))) {
      for (const spelling of [{ kind: 'canonical', path: route.path }, ...spellings(route.path)]) {
        for (const which of keyCases) {
          const what = `${route.method} ${spelling.path} (${spelling.kind}) with ${which} key`
          const response = await call(route, spelling.path, keyFor(route, which))
          expect(response.status, what).to.be.oneOf([400, 401, 403, 404, 405, 503])
          if (spelling.kind === 'canonical' || spelling.kind === 'percent-encoded id digit') await expectProblem(response, 503, 'SHUTTING_DOWN', what)
          expect(await written(), what).to.deep.equal({ point: 0, events: 0 })
        }
      }
    }
  })

  it('refuses Authorization sent twice on every guarded route, whichever key comes first, and writes nothing', async function () {
    for (const route of guarded) {
      const orders = [
        [route.right, route.right],
        [route.right, route.wrong],
        [route.wrong, route.right],
        [route.right, presented.unknown],
      ]
      for (const [first, second] of orders) {
        const body = route.body ?? ''
        const lines = [
          `${route.method} ${route.path} HTTP/1.1`,
          'Host: ledger',
          'Connection: close',
          `Authorization: Bearer ${first}`,
          `Authorization: Bearer ${second}`,
          ...(route.body === undefined ? [] : ['Content-Type: application/json', `Content-Length: ${body.length}`]),
        ]
        const what = `${route.method} ${route.path} with Bearer ${first} then Bearer ${second}`
        const answer = await sendRaw(served.url, `${lines.join('\r\n')}\r\n\r\n${body}`)
        expect(answer.status, `${what}: ${answer.body}`).to.equal(400)
        expect(answer.headers['content-type'], what).to.match(/^application\/problem\+json/)
        expect(JSON.parse(answer.body), what).to.include({ status: 400, code: 'INVALID_REQUEST' })
        expect((JSON.parse(answer.body) as { detail: string }).detail, what).to.match(/Authorization: send the header once/)
        expect(await written(), what).to.deep.equal({ point: 0, events: 0 })
      }
    }
  })

  it('answers a method a route does not serve 405 and never applies it', async function () {
    for (const path of [`/point/${user}/charge`, `/point/${user}`]) {
      const response = await fetch(`${served.url}${path}`, {
        method: 'DELETE',
        headers: { authorization: 'Bearer topup-1' },
      })
      await expectProblem(response, 405, 'METHOD_NOT_ALLOWED', `DELETE ${path}`)
    }
    expect(await written()).to.deep.equal({ point: 0, events: 0 })
  })
})
