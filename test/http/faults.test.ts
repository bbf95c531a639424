import { expect } from 'chai'
import * as TE from 'fp-ts/TaskEither'
import { storeUnavailable, type PointStore } from '../../src/events/store'
import { expectProblem, okJson, send, sendJsonText } from '../support/http'
import { startTestServer, type TestServer } from '../support/server'
import { overriding } from '../support/spy-store'
import { fastMemoryStore } from '../support/tables'

/** A store that can be switched off: every call fails as an unreachable store would. */
const switchable = (inner: PointStore) => {
  let down = false
  const fail = () => TE.left(storeUnavailable(new Error('connection refused')))
  const store = overriding(inner, {
    load: (user) => (down ? fail() : inner.load(user)),
    append: (user, version, plan) => (down ? fail() : inner.append(user, version, plan)),
    balance: (user) => (down ? fail() : inner.balance(user)),
    history: (user) => (down ? fail() : inner.history(user)),
  })
  return { store, setDown: (value: boolean) => (down = value) }
}

describe('HTTP API when the store fails', function () {
  let server: TestServer
  let setDown: (value: boolean) => void

  beforeEach(async function () {
    const store = switchable(fastMemoryStore())
    setDown = store.setDown
    server = await startTestServer({ store: store.store })
  })
  afterEach(async function () {
    await server.close()
  })

  const unavailable = { status: 503, code: 'STORE_UNAVAILABLE' } as const

  it('answers every route with 503 STORE_UNAVAILABLE, never a 500', async function () {
    setDown(true)
    await expectProblem(await send(`${server.url}/point/1`, 'GET'), unavailable)
    await expectProblem(await send(`${server.url}/point/1/histories`, 'GET'), unavailable)
    await expectProblem(await sendJsonText(`${server.url}/point/1/charge`, 'PATCH', '{"amount":5}'), unavailable)
    await expectProblem(await sendJsonText(`${server.url}/point/1/use`, 'PATCH', '{"amount":5}'), unavailable)
  })

  it('serves again once the store is back, with nothing applied from the failed commands', async function () {
    expect(await okJson(await sendJsonText(`${server.url}/point/1/charge`, 'PATCH', '{"amount":100}'))).to.include({ point: 100 })
    setDown(true)
    await expectProblem(await sendJsonText(`${server.url}/point/1/charge`, 'PATCH', '{"amount":50}'), unavailable)
    setDown(false)
    expect(await okJson(await sendJsonText(`${server.url}/point/1/use`, 'PATCH', '{"amount":30}'))).to.include({ point: 70 })
    const history = (await okJson(await send(`${server.url}/point/1/histories`, 'GET'))) as Array<{ amount: number }>
    expect(history.map((row) => row.amount)).to.deep.equal([100, 30])
  })
})
