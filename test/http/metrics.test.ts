import { expect } from 'chai'
import type { StoreCall } from '../../src/events/store'
import { timedStore } from '../../src/stores/timed'
import { storeContract } from '../stores/contract'
import { gatedStore } from '../support/gated'
import { sample } from '../support/metrics'
import { downStore, listen, opsApp, type Listening } from '../support/ops'
import { patchJson, startTestServer } from '../support/server'
import { PointHistoryTable, UserPointTable, type Sleep } from '../../database'
import { MemoryStore } from '../../src/stores/memory'
import { fastMemoryStore } from '../support/tables'
import { amount, userId } from '../support/values'

const scrape = async (url: string): Promise<string> => {
  const response = await fetch(`${url}/metrics`)
  expect(response.status).to.equal(200)
  expect(response.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/)
  return response.text()
}

describe('metrics', function () {
  const servers: Listening[] = []
  afterEach(async function () {
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })
  const serve = async (app = opsApp().app) => {
    const served = await listen(app)
    servers.push(served)
    return served.url
  }

  it('times requests by method, route pattern and status', async function () {
    const url = await serve()
    await fetch(`${url}/point/1`)
    await fetch(`${url}/point/2`)
    await fetch(`${url}/point/x`)
    await fetch(`${url}/not/a/route`)
    const text = await scrape(url)
    const count = (labels: Record<string, string>) => sample(text, 'http_request_duration_seconds_count', labels)
    expect(count({ method: 'GET', route: '/point/:id', status: '200' })).to.equal(2)
    expect(count({ method: 'GET', route: '/point/:id', status: '400' })).to.equal(1)
    expect(count({ method: 'GET', route: 'unmatched', status: '404' })).to.equal(1)
    expect(sample(text, 'http_request_duration_seconds_bucket', { route: '/point/:id', status: '200', le: '+Inf' })).to.equal(2)
  })

  it('counts accepted commands, and rejected ones by code', async function () {
    const url = await serve()
    await patchJson(`${url}/point/1/charge`, { amount: 100 })
    await patchJson(`${url}/point/1/charge`, { amount: 5 })
    await patchJson(`${url}/point/1/use`, { amount: 30 })
    await patchJson(`${url}/point/1/use`, { amount: 1_000 })
    await patchJson(`${url}/point/1/use`, { amount: -1 })
    await patchJson(`${url}/point/1/charge`, { amount: 2_000_000 })
    const text = await scrape(url)
    expect(sample(text, 'point_commands_accepted_total', { command: 'charge' })).to.equal(2)
    expect(sample(text, 'point_commands_accepted_total', { command: 'use' })).to.equal(1)
    expect(sample(text, 'point_commands_rejected_total', { command: 'use', code: 'INSUFFICIENT_BALANCE' })).to.equal(1)
    expect(sample(text, 'point_commands_rejected_total', { command: 'use', code: 'INVALID_REQUEST' })).to.equal(1)
    expect(sample(text, 'point_commands_rejected_total', { command: 'charge', code: 'AMOUNT_LIMIT_EXCEEDED' })).to.equal(1)
  })

  it('counts refunds, holds, captures and releases by command, and their rejections by code', async function () {
    const url = await serve()
    await patchJson(`${url}/point/2/charge`, { amount: 100 })
    await patchJson(`${url}/point/2/use`, { amount: 40 })
    const useId = ((await (await fetch(`${url}/point/2/histories`)).json()) as Array<{ id: number }>)[1]!.id
    await patchJson(`${url}/point/2/refund`, { useId, amount: 30 })
    await patchJson(`${url}/point/2/refund`, { useId, amount: 11 })
    const placed = (await (await patchJson(`${url}/point/2/hold`, { amount: 10 })).json()) as { hold: { holdId: number } }
    await patchJson(`${url}/point/2/hold`, { amount: 1_000 })
    await patchJson(`${url}/point/2/holds/${placed.hold.holdId}/capture`, { amount: 4 })
    await fetch(`${url}/point/2/holds/${placed.hold.holdId}/release`, { method: 'PATCH' })
    const text = await scrape(url)
    expect(sample(text, 'point_commands_accepted_total', { command: 'refund' })).to.equal(1)
    expect(sample(text, 'point_commands_rejected_total', { command: 'refund', code: 'REFUND_EXCEEDS_USE' })).to.equal(1)
    expect(sample(text, 'point_commands_accepted_total', { command: 'hold' })).to.equal(1)
    expect(sample(text, 'point_commands_rejected_total', { command: 'hold', code: 'INSUFFICIENT_BALANCE' })).to.equal(1)
    expect(sample(text, 'point_commands_accepted_total', { command: 'capture' })).to.equal(1)
    expect(sample(text, 'point_commands_rejected_total', { command: 'release', code: 'HOLD_ALREADY_RESOLVED' })).to.equal(1)
  })

  it('counts commands the store could not take as rejected with STORE_UNAVAILABLE', async function () {
    const url = await serve(opsApp({ store: downStore() }).app)
    await patchJson(`${url}/point/1/charge`, { amount: 1 })
    const text = await scrape(url)
    expect(sample(text, 'point_commands_rejected_total', { command: 'charge', code: 'STORE_UNAVAILABLE' })).to.equal(1)
    expect(sample(text, 'point_store_call_duration_seconds_count', { call: 'load', outcome: 'fault' })).to.equal(1)
  })

  it('shows writer queue depth and batch sizes while commands wait for a held append', async function () {
    const gated = gatedStore(fastMemoryStore())
    const server = await startTestServer({ store: gated.store })
    try {
      const { ledger } = server.service
      const first = ledger.charge(userId(4), amount(10))()
      await gated.holding
      const answers = [first, ...[20, 30].map((n) => ledger.charge(userId(4), amount(n))())]
      const busy = await scrape(server.url)
      expect(sample(busy, 'point_writer_queued_commands')).to.equal(2)
      expect(sample(busy, 'point_writer_active_writers')).to.equal(1)

      gated.release()
      await Promise.all(answers)
      const idle = await scrape(server.url)
      expect(sample(idle, 'point_writer_queued_commands')).to.equal(0)
      expect(sample(idle, 'point_writer_active_writers')).to.equal(0)
      // The first command started a batch alone; the two that queued behind it went together.
      expect(sample(idle, 'point_writer_batch_size_count')).to.equal(2)
      expect(sample(idle, 'point_writer_batch_size_sum')).to.equal(3)
      expect(sample(idle, 'point_writer_batch_size_bucket', { le: '1' })).to.equal(1)
      expect(sample(idle, 'point_writer_batch_size_bucket', { le: '2' })).to.equal(2)
    } finally {
      gated.release()
      await server.close()
    }
  })

  it('times store calls by call and outcome', async function () {
    const server = await startTestServer()
    try {
      await patchJson(`${server.url}/point/9/charge`, { amount: 7 })
      await fetch(`${server.url}/point/9`)
      await fetch(`${server.url}/point/9/histories`)
      const text = await scrape(server.url)
      for (const call of ['load', 'append', 'balance', 'history']) {
        expect(sample(text, 'point_store_call_duration_seconds_count', { call, outcome: 'ok' }), call).to.be.at.least(1)
      }
      expect(sample(text, 'point_store_call_duration_seconds_sum', { call: 'append', outcome: 'ok' })).to.be.greaterThan(0)
    } finally {
      await server.close()
    }
  })

  it('exports the process defaults', async function () {
    const text = await scrape(await serve())
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(sample(text, name), name).to.be.a('number')
    }
  })

  it('keeps each app’s counts apart in one process', async function () {
    const first = await serve()
    const second = await serve()
    await patchJson(`${first}/point/1/charge`, { amount: 1 })
    expect(sample(await scrape(first), 'point_commands_accepted_total', { command: 'charge' })).to.equal(1)
    expect(sample(await scrape(second), 'point_commands_accepted_total', { command: 'charge' })).to.equal(undefined)
  })
})

describe('timed store', function () {
  storeContract('memory, timed', (options) => {
    const store = timedStore(fastMemoryStore(undefined, options), () => undefined)
    return Promise.resolve({ store, dispose: () => store.close() })
  })

  it('reports each call once with its outcome and a duration', async function () {
    const seen: [StoreCall, string][] = []
    const durations: number[] = []
    // A timer of 1 ms can fire at once: Node counts it from the loop's cached time, which a busy turn leaves behind.
    // So each table call here waits until 2 ms have passed by the clock the timed store reads.
    const atLeast2ms: Sleep = () =>
      new Promise((resolve) => {
        const until = performance.now() + 2
        const check = () => (performance.now() >= until ? resolve() : setTimeout(check, 1))
        check()
      })
    const tables = { sleep: atLeast2ms }
    const store = timedStore(new MemoryStore(new UserPointTable(tables), new PointHistoryTable(tables)), (call, outcome, seconds) => {
      seen.push([call, outcome])
      durations.push(seconds)
    })
    await store.load(userId(1))()
    await store.append(userId(1), 0, { events: [{ type: 'CHARGE', userId: userId(1), amount: amount(3), timeMillis: 1 }], projection: { balance: 3, version: 1 }, receipts: [] })()
    await store.balance(userId(1))()
    await store.history(userId(1))()
    await timedStore(downStore(), (call, outcome) => seen.push([call, outcome])).balance(userId(1))()
    expect(seen).to.deep.equal([
      ['load', 'ok'],
      ['append', 'ok'],
      ['balance', 'ok'],
      ['history', 'ok'],
      ['balance', 'fault'],
    ])
    // Each call went through at least one table call of at least 2 ms.
    durations.forEach((seconds) => expect(seconds).to.be.at.least(0.002))
  })
})
