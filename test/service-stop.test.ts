import { expect } from 'chai'
import { gatedStore } from './support/gated'
import { patchJson, startTestServer } from './support/server'
import { fastMemoryStore } from './support/tables'

describe('service stop (in process)', function () {
  it('refuses new connections, finishes and answers the command in hand, then closes the store', async function () {
    const gated = gatedStore(fastMemoryStore())
    const server = await startTestServer({ store: gated.store })
    const answer = patchJson(`${server.url}/point/1/charge`, { amount: 10 })
    await gated.holding

    const stopping = server.close()
    expect(server.service.lifecycle.phase).to.equal('draining')
    const late = await fetch(`${server.url}/healthz`).then(
      () => 'answered',
      (error: Error & { cause?: { code?: string } }) => error.cause?.code,
    )
    expect(late).to.equal('ECONNREFUSED')
    expect(gated.calls).to.deep.equal([])

    gated.release()
    const response = await answer
    expect(response.status).to.equal(200)
    expect(await response.json()).to.include({ id: 1, point: 10 })
    await stopping
    expect(gated.calls).to.deep.equal(['append', 'close'])
  })

  it('gives up after SHUTDOWN_TIMEOUT_MS: cuts the connection, still closes the store, and fails', async function () {
    const gated = gatedStore(fastMemoryStore())
    const server = await startTestServer({ store: gated.store, config: { shutdownTimeoutMs: 50 } })
    const answer = patchJson(`${server.url}/point/1/charge`, { amount: 10 }).then(
      () => 'answered',
      () => 'cut off',
    )
    await gated.holding
    const stopped = await server.close().then(
      () => 'stopped',
      (error: Error) => error.message,
    )
    expect(stopped).to.equal('requests were still running after 50 ms and were cut off')
    expect(await answer).to.equal('cut off')
    expect(gated.calls).to.deep.equal(['close'])
    gated.release()
  })
})
