import { expect } from 'chai'
import type { ApiKey } from '../../src/api-keys'
import { expectProblem, okJson } from '../support/http'
import { messages, openSse } from '../support/sse'
import { patchJson, startTestServer, type TestServer } from '../support/server'
import { postgresFixture } from '../support/postgres'
import { sqliteFixture } from '../support/sqlite'
import { fastMemoryStore } from '../support/tables'
import type { StoreFixture } from '../stores/contract'

interface FeedItem {
  readonly position: string
  readonly event: Record<string, unknown>
}
interface FeedPage {
  readonly events: FeedItem[]
  readonly next: string
}

const page = async (url: string, query = ''): Promise<FeedPage> => (await okJson(await fetch(`${url}/events${query}`))) as FeedPage

describe('GET /events', function () {
  let fixture: StoreFixture
  let server: TestServer

  beforeEach(async function () {
    fixture = await sqliteFixture()
    server = await startTestServer({ store: fixture.store })
  })
  afterEach(async function () {
    await server.close()
    await fixture.dispose()
  })

  it('is empty at first, with `next` the start', async function () {
    expect(await page(server.url)).to.deep.equal({ events: [], next: '0' })
  })

  it('pages through every user\'s events oldest first, each event exactly as the history route shows it', async function () {
    for (const [user, path, amount] of [[1, 'charge', 100], [2, 'charge', 50], [1, 'use', 30], [3, 'charge', 7]] as const) {
      await okJson(await patchJson(`${server.url}/point/${user}/${path}`, { amount }))
    }
    const first = await page(server.url, '?limit=3')
    expect(first.events).to.have.length(3)
    expect(first.next).to.equal(first.events[2]!.position)
    const second = await page(server.url, `?limit=3&after=${first.next}`)
    expect(second.events).to.have.length(1)
    const rest = await page(server.url, `?after=${second.next}`)
    expect(rest).to.deep.equal({ events: [], next: second.next })

    const all = [...first.events, ...second.events]
    expect(all.map(({ event }) => [event['userId'], event['type'], event['amount']])).to.deep.equal([
      [1, 'CHARGE', 100], [2, 'CHARGE', 50], [1, 'USE', 30], [3, 'CHARGE', 7],
    ])
    for (const user of [1, 2, 3]) {
      const history = (await okJson(await fetch(`${server.url}/point/${user}/histories`))) as unknown[]
      expect(all.filter(({ event }) => event['userId'] === user).map(({ event }) => event)).to.deep.equal(history)
    }
  })

  const bad: ReadonlyArray<readonly [string, RegExp]> = [
    ['?after=abc', /after/],
    ['?after=-1', /after/],
    ['?after=01', /after/],
    ['?after=1-2-3', /after/],
    ['?after=1-', /after/],
    ['?after=%201', /after/],
    ['?after=9007199254740993', /after/],
    ['?after=1&after=2', /after/],
    ['?limit=0', /limit/],
    ['?limit=10001', /limit/],
    ['?limit=1.5', /limit/],
    ['?limit=abc', /limit/],
  ]
  for (const [query, detail] of bad) {
    it(`answers ${query} 400 INVALID_REQUEST and changes nothing`, async function () {
      await expectProblem(await fetch(`${server.url}/events${query}`), { status: 400, code: 'INVALID_REQUEST', detail })
      expect(await page(server.url)).to.deep.equal({ events: [], next: '0' })
    })
  }

  it('answers HEAD on the stream with its headers and ends, rather than opening a stream', async function () {
    const response = await fetch(`${server.url}/events/stream`, { method: 'HEAD' })
    expect(response.status).to.equal(200)
    expect(response.headers.get('content-type')).to.match(/^text\/event-stream/)
    // No request is left running: a stream would hold this until the test times out.
    await server.service.lifecycle.settled()
  })

  it('refuses a bad `after` or `Last-Event-ID` on the stream before it starts', async function () {
    await expectProblem(await fetch(`${server.url}/events/stream?after=x`), { status: 400, code: 'INVALID_REQUEST', detail: /after/ })
    await expectProblem(await fetch(`${server.url}/events/stream`, { headers: { 'last-event-id': '1.5' } }), {
      status: 400,
      code: 'INVALID_REQUEST',
      detail: /Last-Event-ID/,
    })
  })
})

describe('the feed scope', function () {
  const keys: ApiKey[] = [
    { key: 'feeder-1', scopes: ['feed'] },
    { key: 'reader-1', scopes: ['read', 'charge', 'use', 'metrics'] },
  ]
  let server: TestServer

  before(async function () {
    server = await startTestServer({ config: { apiKeys: keys } })
  })
  after(async function () {
    await server.close()
  })

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

  it('is needed for the page and the stream: no key 401, a key without it 403', async function () {
    for (const path of ['/events', '/events/stream']) {
      await expectProblem(await fetch(`${server.url}${path}`), { status: 401, code: 'UNAUTHORIZED' })
      await expectProblem(await fetch(`${server.url}${path}`, { headers: bearer('reader-1') }), { status: 403, code: 'FORBIDDEN' })
    }
  })

  it('is enough for both, and for nothing else', async function () {
    expect(((await okJson(await fetch(`${server.url}/events`, { headers: bearer('feeder-1') }))) as FeedPage).events).to.deep.equal([])
    const stream = await openSse(`${server.url}/events/stream`, bearer('feeder-1'))
    expect(stream.status).to.equal(200)
    await stream.close()
    await expectProblem(await fetch(`${server.url}/point/1`, { headers: bearer('feeder-1') }), { status: 403, code: 'FORBIDDEN' })
  })
})

/** Each store with a position of its own form and one of the other's, as a checkpoint from another deployment would be. */
const stores: ReadonlyArray<{ readonly name: string; readonly open: () => Promise<StoreFixture>; readonly foreign: string }> = [
  { name: 'memory', open: () => Promise.resolve({ store: fastMemoryStore(), dispose: () => Promise.resolve() }), foreign: '1290-42' },
  { name: 'SQLite', open: () => sqliteFixture(), foreign: '1290-42' },
  { name: 'PostgreSQL', open: () => postgresFixture(), foreign: '42' },
]

for (const { name, open, foreign } of stores) {
  describe(`a feed position of another store's form, on the ${name} store`, function () {
    let fixture: StoreFixture
    let server: TestServer

    beforeEach(async function () {
      fixture = await open()
      server = await startTestServer({ store: fixture.store })
      await okJson(await patchJson(`${server.url}/point/1/charge`, { amount: 5 }))
    })
    afterEach(async function () {
      await server.close()
      await fixture.dispose()
    })

    it(`is refused on a page, ${foreign}: 400 INVALID_REQUEST, where this store's own positions read on`, async function () {
      await expectProblem(await fetch(`${server.url}/events?after=${foreign}`), { status: 400, code: 'INVALID_REQUEST', detail: /another store/ })
      const first = await page(server.url)
      expect(first.events.map(({ event }) => event['amount'])).to.deep.equal([5])
      await okJson(await patchJson(`${server.url}/point/2/charge`, { amount: 7 }))
      const rest = await page(server.url, `?after=${first.next}`)
      expect(rest.events.map(({ event }) => event['amount'])).to.deep.equal([7])
    })

    it(`is refused on the stream, as ?after= and as Last-Event-ID, before it starts; the stream starts on its own positions`, async function () {
      await expectProblem(await fetch(`${server.url}/events/stream?after=${foreign}`), { status: 400, code: 'INVALID_REQUEST', detail: /query\.after.*another store/ })
      await expectProblem(await fetch(`${server.url}/events/stream`, { headers: { 'last-event-id': foreign } }), {
        status: 400,
        code: 'INVALID_REQUEST',
        detail: /Last-Event-ID.*another store/,
      })
      const { next } = await page(server.url)
      const stream = await openSse(`${server.url}/events/stream`, { 'last-event-id': next })
      try {
        expect(stream.status).to.equal(200)
        await okJson(await patchJson(`${server.url}/point/2/charge`, { amount: 7 }))
        const [message] = messages(await stream.collect((item) => item.kind === 'message'))
        expect((JSON.parse(message!.data) as FeedItem).event['amount']).to.equal(7)
      } finally {
        await stream.close()
      }
    })
  })
}
