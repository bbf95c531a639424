import { expect } from 'chai'
import Koa from 'koa'
import type { PointStore } from '../../src/events/store'
import { healthRoutes } from '../../src/http/health'
import { Lifecycle } from '../../src/http/lifecycle'
import { downStore, listen, opsApp, type Listening } from '../support/ops'
import { patchJson } from '../support/server'
import { fastMemoryStore } from '../support/tables'
import { userId } from '../support/values'

const answer = async (response: Response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> })

describe('health', function () {
  const servers: Listening[] = []
  const serve = async <S, C>(app: Koa<S, C>) => {
    const served = await listen(app)
    servers.push(served)
    return served
  }
  afterEach(async function () {
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })

  it('GET /healthz answers 200 while starting, ready and draining, even with the store down', async function () {
    const { app, lifecycle } = opsApp({ store: downStore(), starting: true })
    const { url } = await serve(app)
    for (const step of [() => undefined, () => lifecycle.ready(), () => lifecycle.drain()]) {
      step()
      expect(await answer(await fetch(`${url}/healthz`))).to.deep.equal({ status: 200, body: { status: 'ok' } })
    }
  })

  it('GET /readyz answers 503 NOT_READY while starting, then 200 once ready', async function () {
    const { app, lifecycle } = opsApp({ starting: true })
    const { url } = await serve(app)
    expect(await answer(await fetch(`${url}/readyz`))).to.deep.include({ status: 503 })
    expect((await answer(await fetch(`${url}/readyz`))).body).to.include({ code: 'NOT_READY', detail: 'the service is starting' })
    lifecycle.ready()
    expect(await answer(await fetch(`${url}/readyz`))).to.deep.equal({ status: 200, body: { status: 'ready' } })
  })

  it('GET /readyz answers 503 STORE_UNAVAILABLE while the store faults, and 200 again when it is back', async function () {
    const healthy = fastMemoryStore()
    const down = downStore()
    let current: PointStore = down
    const switching: PointStore = {
      load: (u) => current.load(u),
      append: (u, v, plan) => current.append(u, v, plan),
      receipts: (u, k) => current.receipts(u, k),
      references: (u, named) => current.references(u, named),
      holds: (u, at) => current.holds(u, at),
      expiredHolds: (now, limit) => current.expiredHolds(now, limit),
      balance: (u) => current.balance(u),
      history: (u, q) => current.history(u, q),
      close: () => current.close(),
    }
    const { url } = await serve(opsApp({ store: switching }).app)
    const first = await answer(await fetch(`${url}/readyz`))
    expect(first.status).to.equal(503)
    expect(first.body).to.include({ code: 'STORE_UNAVAILABLE' })
    current = healthy
    expect((await fetch(`${url}/readyz`)).status).to.equal(200)
  })

  it('GET /readyz answers 503 when the store does not answer within the probe timeout', async function () {
    const hanging: PointStore = { ...downStore(), balance: () => () => new Promise(() => undefined) }
    const lifecycle = new Lifecycle()
    lifecycle.ready()
    const router = healthRoutes({ lifecycle, store: hanging, probeTimeoutMs: 20 })
    const { url } = await serve(new Koa().use(router.routes()))
    expect((await fetch(`${url}/readyz`)).status).to.equal(503)
  })

  it('while draining: /readyz answers 503 and API requests are refused with 503 SHUTTING_DOWN before any work', async function () {
    const store = fastMemoryStore()
    const { app, lifecycle } = opsApp({ store })
    const { url } = await serve(app)
    lifecycle.drain()
    const ready = await answer(await fetch(`${url}/readyz`))
    expect(ready).to.deep.include({ status: 503 })
    expect(ready.body).to.include({ code: 'NOT_READY', detail: 'the service is draining' })

    const refused = await patchJson(`${url}/point/3/charge`, { amount: 10 })
    expect(refused.status).to.equal(503)
    expect(refused.headers.get('connection')).to.equal('close')
    expect(await refused.json()).to.include({ code: 'SHUTTING_DOWN' })
    const history = await store.history(userId(3))()
    expect(history).to.deep.equal({ _tag: 'Right', right: [] })
  })

  it('lets a request in hand finish while draining, and settles only after it', async function () {
    const lifecycle = new Lifecycle()
    lifecycle.ready()
    const order: string[] = []
    let entered!: () => void
    const inHandler = new Promise<void>((resolve) => (entered = resolve))
    let finish!: () => void
    const released = new Promise<void>((resolve) => (finish = resolve))
    const app = new Koa().use(lifecycle.middleware).use(async (ctx) => {
      entered()
      await released
      order.push('handler finished')
      ctx.body = 'done'
    })
    const { url } = await serve(app)
    const pending = fetch(`${url}/anything`)
    await inHandler
    lifecycle.drain()
    const settling = lifecycle.settled().then(() => order.push('settled'))
    finish()
    const response = await pending
    expect(await response.text()).to.equal('done')
    expect(response.headers.get('connection')).to.equal('close')
    await settling
    expect(order).to.deep.equal(['handler finished', 'settled'])
  })
})
