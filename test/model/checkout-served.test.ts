import { expect } from 'chai'
import { patchJson, startTestServer, type TestServer } from '../support/server'
import { fastMemoryStore } from '../support/tables'
import { checkoutServeConfig } from './checkout-model'

/** Starts a server with `setInterval` captured: `elapse` runs, once, each interval at most that long, as its timer would. */
async function startCapturingIntervals(start: () => Promise<TestServer>): Promise<{ server: TestServer; elapse: (millis: number) => void }> {
  const captured: Array<{ readonly run: () => void; readonly every: number }> = []
  const real = globalThis.setInterval
  globalThis.setInterval = ((run: () => void, every: number) => {
    captured.push({ run, every })
    // A timer that never fires by itself, so only `elapse` runs the callback.
    return real(() => undefined, 2 ** 31 - 1).unref()
  }) as typeof setInterval
  try {
    const server = await start()
    return { server, elapse: (millis) => captured.filter(({ every }) => every <= millis).forEach(({ run }) => run()) }
  } finally {
    globalThis.setInterval = real
  }
}

describe('the service the checkout model runs against', function () {
  it('records no expiry on its own timer, so a hold placed after a clock step past an expiry gets the id the model gives it', async function () {
    let now = 1_800_000_000_000
    const { server, elapse } = await startCapturingIntervals(() => startTestServer({ store: fastMemoryStore(), config: checkoutServeConfig, clock: () => now }))
    try {
      const user = `${server.url}/point/1`
      await patchJson(`${user}/charge`, { amount: 50 })
      const first = (await (await patchJson(`${user}/hold`, { amount: 10, ttlSeconds: 1 })).json()) as { hold: { holdId: number } }
      expect(first.hold.holdId).to.equal(2)
      now += 2_000
      // Three minutes of wall time, the suite's budget, pass before the model's next command. A sweep started here
      // reaches the user's writer in microtasks, before the hold below is read off the socket, so it would come first.
      elapse(180_000)
      const second = (await (await patchJson(`${user}/hold`, { amount: 10, ttlSeconds: 10 })).json()) as { hold: { holdId: number } }
      // The model has seen no `Sweep`: the log holds a charge and two holds, no EXPIRE in between.
      expect(second.hold.holdId).to.equal(3)
    } finally {
      await server.close()
    }
  })
})
