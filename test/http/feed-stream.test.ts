import Ajv2020 from 'ajv/dist/2020'
import { expect } from 'chai'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import * as E from 'fp-ts/Either'
import type { Context } from 'koa'
import Koa from 'koa'
import { once } from 'node:events'
import { connect, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { feedStart } from '../../src/events/feed'
import { defaultStreamSettings } from '../../src/http/app'
import { feedRoutes } from '../../src/http/feed-routes'
import { streamFeed } from '../../src/http/feed-stream'
import { OpenStreams } from '../../src/http/open-streams'
import { openApiDocument } from '../../src/http/openapi'
import { FeedTail } from '../../src/projections/feed-tail'
import { createLedger } from '../../src/projections/ledger'
import { CapturedLog, startLoggedServer } from '../support/captured-log'
import { sample } from '../support/metrics'
import { limits } from '../support/ops'
import { okJson } from '../support/http'
import { startServiceProcess } from '../support/process'
import { patchJson, startTestServer, type TestServer } from '../support/server'
import { messages, openSse, type SseItem } from '../support/sse'
import { sqliteFixture, tempDir } from '../support/sqlite'
import { fastMemoryStore } from '../support/tables'
import { amount, userId } from '../support/values'
import type { StoreFixture } from '../stores/contract'

interface FeedPage {
  readonly events: Array<{ readonly position: string; readonly event: unknown }>
}

const isMessage = (item: SseItem): boolean => item.kind === 'message'
const upTo = (count: number) => {
  let seen = 0
  return (item: SseItem) => isMessage(item) && ++seen === count
}

/** Waits until `ready` holds, checking after each turn of the event loop: a condition, not a guess at a time. */
const until = async (ready: () => boolean): Promise<void> => {
  while (!ready()) await new Promise<void>((resolve) => setImmediate(resolve))
}

describe('GET /events/stream', function () {
  let fixture: StoreFixture
  let server: TestServer

  const charge = async (user: number, n: number) => okJson(await patchJson(`${server.url}/point/${user}/charge`, { amount: n }))
  const feed = async (): Promise<FeedPage['events']> => ((await okJson(await fetch(`${server.url}/events`))) as FeedPage).events

  beforeEach(async function () {
    fixture = await sqliteFixture()
    server = await startTestServer({ store: fixture.store, config: { feed: { pollMs: 50, heartbeatMs: 200, streamBufferBytes: 1_048_576, maxStreams: 256 } } })
  })
  afterEach(async function () {
    await server.close()
    await fixture.dispose()
  })

  it('sends the backlog, then each new event as it commits, each as GET /events shows it', async function () {
    await charge(1, 10)
    await charge(2, 20)
    const stream = await openSse(`${server.url}/events/stream`)
    try {
      expect(stream.status).to.equal(200)
      expect(stream.contentType).to.match(/^text\/event-stream/)
      const backlog = messages(await stream.collect(upTo(2)))
      await charge(3, 30)
      const live = messages(await stream.collect(upTo(1)))
      const all = [...backlog, ...live]
      const events = await feed()
      expect(all.map((m) => m.id)).to.deep.equal(events.map((e) => e.position))
      expect(all.map((m) => JSON.parse(m.data) as unknown)).to.deep.equal(events)
      expect(all.every((m) => m.event === undefined)).to.equal(true)
    } finally {
      await stream.close()
    }
  })

  it('resumes after Last-Event-ID, or after ?after=, and prefers Last-Event-ID when both are sent', async function () {
    for (const n of [1, 2, 3]) await charge(n, n)
    const [first, second, third] = (await feed()).map((e) => e.position)
    const resumed = async (path: string, headers: Record<string, string> = {}, count = 1) => {
      const stream = await openSse(`${server.url}${path}`, headers)
      try {
        return messages(await stream.collect(upTo(count))).map((m) => m.id)
      } finally {
        await stream.close()
      }
    }
    expect(await resumed('/events/stream', { 'last-event-id': first! }, 2)).to.deep.equal([second, third])
    expect(await resumed(`/events/stream?after=${second!}`)).to.deep.equal([third])
    expect(await resumed(`/events/stream?after=0`, { 'last-event-id': second! })).to.deep.equal([third])
  })

  it('sends a heartbeat comment while nothing happens', async function () {
    const stream = await openSse(`${server.url}/events/stream`)
    try {
      const items = await stream.collect((item) => item.kind === 'comment')
      expect(items).to.deep.equal([{ kind: 'comment', text: 'heartbeat' }])
    } finally {
      await stream.close()
    }
  })

  it('ends every stream with a SHUTTING_DOWN disconnect when the service drains, and the drain waits for none', async function () {
    await charge(1, 5)
    const streams = await Promise.all([openSse(`${server.url}/events/stream`), openSse(`${server.url}/events/stream?after=0`)])
    const positions = []
    for (const stream of streams) positions.push(messages(await stream.collect(upTo(1)))[0]?.id)
    // Rejects if a request outlives the drain timeout.
    const stopped = server.close()
    for (const [i, stream] of streams.entries()) {
      const rest = await stream.collect(() => false)
      const last = messages(rest).at(-1)
      expect(last?.event).to.equal('disconnect')
      expect(JSON.parse(last?.data ?? '{}')).to.deep.include({ code: 'SHUTTING_DOWN', after: positions[i] })
      expect(rest.at(-1)).to.deep.equal({ kind: 'end' })
    }
    await stopped
    // Stopped already; afterEach closes it again harmlessly.
    server = { ...server, close: () => Promise.resolve() }
  })
})

describe('a stream whose client went away before its route ran', function () {
  it('holds no slot and joins no tail: its response closed before there was a stream to count', async function () {
    const ledger = createLedger({ store: fastMemoryStore(), limits: { maxAmount: 1_000, maxBalance: 1_000_000 } })
    const tail = new FeedTail(ledger.feedPage, { pollMillis: 1_000, pageLimit: 100 })
    const open = new OpenStreams()
    const stream = { read: ledger.feedPage, tail, settings: defaultStreamSettings, onDrain: () => () => undefined }
    let served = false
    const app = new Koa()
    // The client hangs up while the request is on its way in: by the route, its response has closed.
    app.use(async (ctx, next) => {
      ctx.req.socket.destroy()
      if (!ctx.res.closed) await once(ctx.res, 'close')
      await next()
      served = true
    })
    app.use(feedRoutes(ledger, { guard: () => [], stream, open }).routes())
    const server = app.listen(0, '127.0.0.1')
    try {
      await once(server, 'listening')
      const { port } = server.address() as AddressInfo
      const client = connect(port, '127.0.0.1', () => client.write('GET /events/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n'))
      client.on('error', () => undefined)
      // Either the route returns, or it has begun a stream that, its close gone by, would never end.
      await until(() => served || open.count > 0 || tail.size > 0)
      expect(open.count, 'a slot taken now would never be given back').to.equal(0)
      expect(tail.size, 'nor would a listener on the tail').to.equal(0)
    } finally {
      server.close()
    }
  })
})

describe('a stream whose client reads nothing', function () {
  it('is disconnected with SLOW_CONSUMER once its unsent bytes pass the bound, and holds no more after', async function () {
    const store = fastMemoryStore()
    const ledger = createLedger({ store, limits: { maxAmount: 1_000, maxBalance: 1_000_000 } })
    const tail = new FeedTail(ledger.feedPage, { pollMillis: 1_000, pageLimit: 100 })
    const bufferBytes = 2_048
    // A response whose reader never reads: what is written stays in its buffer.
    const res = Object.assign(new PassThrough({ highWaterMark: 16 }), { flushHeaders: () => undefined })
    const ctx = { res, status: 0, respond: true, set: () => undefined } as unknown as Context
    const streaming = streamFeed(ctx, { read: ledger.feedPage, tail, settings: { ...defaultStreamSettings, bufferBytes, closeGraceMillis: 60_000 }, onDrain: () => () => undefined }, feedStart)
    let ended = false
    void streaming.then(() => (ended = true))
    await until(() => tail.size === 1)

    let charges = 0
    while (!ended) {
      expect(E.isRight(await ledger.charge(userId(1), amount(1))())).to.equal(true)
      charges += 1
      tail.wake()
      await until(() => ended || res.writableLength > 0)
      if (charges > 500) throw new Error('never disconnected')
    }
    const held = res.writableLength
    // The bound, one event's frame past it, and the reason.
    expect(held).to.be.below(bufferBytes + 1_024)
    expect(tail.size).to.equal(0)
    for (let i = 0; i < 5; i++) expect(E.isRight(await ledger.charge(userId(1), amount(1))())).to.equal(true)
    tail.wake()
    expect(res.writableLength).to.equal(held)

    const received: EventSourceMessage[] = []
    const parser = createParser({ onEvent: (message) => received.push(message) })
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => parser.feed(chunk))
    await once(res, 'end')
    const events = received.filter((m) => m.event === undefined)
    const last = received.at(-1)!
    expect(events.map((m) => Number(m.id))).to.deep.equal(events.map((_, i) => i + 1))
    expect(last.event).to.equal('disconnect')
    expect(JSON.parse(last.data)).to.deep.include({ code: 'SLOW_CONSUMER', after: events.at(-1)!.id })
  })
})

/** The schema the API document gives a refused stream's `Retry-After`. */
const documentedRetryAfter = (): object => {
  const paths = openApiDocument({ limits, secured: false, serverUrl: 'http://127.0.0.1:3000' })['paths'] as Record<string, Record<string, { responses: Record<string, { headers: Record<string, { schema: object }> }> }>>
  return paths['/events/stream']!['get']!.responses['5XX']!.headers['Retry-After']!.schema
}

describe('GET /events/stream at the most streams an instance serves (FEED_MAX_STREAMS)', function () {
  let fixture: StoreFixture
  let server: TestServer
  let log: CapturedLog
  const streamUrl = () => `${server.url}/events/stream`

  beforeEach(async function () {
    fixture = await sqliteFixture()
    log = new CapturedLog()
    server = await startLoggedServer(fixture.store, log, { feed: { pollMs: 50, heartbeatMs: 200, streamBufferBytes: 1_048_576, maxStreams: 2 } })
  })
  afterEach(async function () {
    await server.close()
    await fixture.dispose()
  })

  it('refuses one stream more with 503 TOO_MANY_STREAMS and Retry-After, and serves one again once a stream has ended', async function () {
    const first = await openSse(streamUrl())
    const second = await openSse(streamUrl())
    try {
      expect([first.status, second.status]).to.deep.equal([200, 200])
      const refused = await fetch(streamUrl(), { headers: { accept: 'text/event-stream' } })
      expect(refused.status).to.equal(503)
      expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/)
      expect(refused.headers.get('retry-after')).to.equal('1')
      expect(new Ajv2020().validate(documentedRetryAfter(), Number(refused.headers.get('retry-after'))), 'as the API document says').to.equal(true)
      expect(await refused.json()).to.include({ code: 'TOO_MANY_STREAMS', status: 503 })
      expect(log.failed('/events/stream').map((line) => line['error']), 'the request line says why').to.deep.equal([
        { code: 'TOO_MANY_STREAMS', message: 'streams open: 2, the most FEED_MAX_STREAMS allows' },
      ])
      expect((await fetch(streamUrl(), { method: 'HEAD' })).status, 'HEAD answers as GET would').to.equal(503)
      // Only streams are counted: a page of the feed is still served.
      expect((await fetch(`${server.url}/events`)).status).to.equal(200)

      await first.close()
      // The first stream's request line is written once the service has seen the hang-up and freed its slot.
      await until(() => log.lines.some((line) => line['route'] === '/events/stream' && line['status'] === 200))
      const again = await openSse(streamUrl())
      try {
        expect(again.status).to.equal(200)
        expect(again.contentType).to.match(/^text\/event-stream/)
      } finally {
        await again.close()
      }
    } finally {
      await first.close()
      await second.close()
    }
  })

  const openStreams = async (): Promise<number | undefined> => sample(await (await fetch(`${server.url}/metrics`)).text(), 'point_feed_open_streams')

  it('counts the streams being served in /metrics, a stream until its response has closed', async function () {
    expect(await openStreams()).to.equal(0)
    const first = await openSse(streamUrl())
    const second = await openSse(streamUrl())
    try {
      expect(await openStreams()).to.equal(2)
      await first.close()
      // The first stream's request line is written once the service has seen the hang-up and freed its slot.
      await until(() => log.lines.some((line) => line['route'] === '/events/stream' && line['status'] === 200))
      expect(await openStreams()).to.equal(1)
    } finally {
      await first.close()
      await second.close()
    }
  })
})

describe('SIGTERM with a stream open', function () {
  this.timeout(60_000)

  it('ends the stream with SHUTTING_DOWN and the process exits 0', async function () {
    const dir = await tempDir()
    const service = await startServiceProcess({ POINT_STORE: 'sqlite', SQLITE_PATH: join(dir.path, 'points.db') })
    try {
      await okJson(await patchJson(`${service.url}/point/1/charge`, { amount: 3 }))
      const stream = await openSse(`${service.url}/events/stream`)
      expect(messages(await stream.collect(upTo(1)))).to.have.length(1)
      const exited = once(service.child, 'exit')
      service.child.kill('SIGTERM')
      const rest = await stream.collect(() => false)
      expect(messages(rest).at(-1)?.event).to.equal('disconnect')
      expect(JSON.parse(messages(rest).at(-1)?.data ?? '{}')).to.include({ code: 'SHUTTING_DOWN' })
      expect(rest.at(-1)).to.deep.equal({ kind: 'end' })
      expect((await exited)[0]).to.equal(0)
    } finally {
      await service.kill()
      await dir.remove()
    }
  })
})
