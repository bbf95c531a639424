import { expect } from 'chai'
import * as TE from 'fp-ts/TaskEither'
import { storeUnavailable, type StoreFault } from '../../src/events/store'
import { ReceiptPruner, type PrunesReceipts } from '../../src/stores/receipt-retention'

/** A backlog of expired receipts that records every delete it is asked for, and what ran in between. */
const backlog = (size: number, log: string[] = []) => {
  let left = size
  const limits: number[] = []
  const store: PrunesReceipts = {
    pruneReceipts: (limit) => () => {
      limits.push(limit)
      log.push('batch')
      const deleted = Math.min(limit, left)
      left -= deleted
      return TE.right(deleted)()
    },
  }
  return { store, limits, left: () => left }
}

describe('receipt pruner', function () {
  it('works off a large backlog in deletes of at most the batch size, stopping at the first short one', async function () {
    const { store, limits, left } = backlog(2_345)
    const pruner = new ReceiptPruner(store, { batchSize: 500, maxBatches: 100 })
    expect(await pruner.pass()).to.equal(2_345)
    expect(limits).to.deep.equal([500, 500, 500, 500, 500])
    expect(left()).to.equal(0)
  })

  it('takes at most maxBatches deletes in one pass, leaving the rest to the next', async function () {
    const { store, limits, left } = backlog(10_000)
    const pruner = new ReceiptPruner(store, { batchSize: 100, maxBatches: 3 })
    expect(await pruner.pass()).to.equal(300)
    expect(limits).to.have.length(3)
    expect(left()).to.equal(9_700)
  })

  it('gives the event loop back between deletes, so commands are served in between', async function () {
    const log: string[] = []
    const { store } = backlog(300, log)
    const pruner = new ReceiptPruner(store, { batchSize: 100 })
    const passing = pruner.pass()
    // Work that arrives once the pass has begun: it must run before the pass is over, not after it.
    setImmediate(() => log.push('command'))
    await passing
    expect(log.indexOf('command')).to.be.greaterThan(0).and.lessThan(log.lastIndexOf('batch'))
  })

  it('reports a failing delete and ends the pass; the next pass tries again', async function () {
    const faults: StoreFault[] = []
    let calls = 0
    const store: PrunesReceipts = {
      pruneReceipts: () => (++calls === 1 ? TE.left(storeUnavailable(new Error('disk'))) : TE.right(0)),
    }
    const pruner = new ReceiptPruner(store, { onFault: (fault) => faults.push(fault) })
    expect(await pruner.pass()).to.equal(0)
    expect(faults.map((f) => f._tag)).to.deep.equal(['StoreUnavailable'])
    expect(await pruner.pass()).to.equal(0)
    expect(calls).to.equal(2)
  })

  it('runs one pass at a time, and stop waits for the pass under way', async function () {
    const { store, limits } = backlog(1_000)
    const pruner = new ReceiptPruner(store, { batchSize: 100 })
    const first = pruner.pass()
    expect(pruner.pass()).to.equal(first)
    await pruner.stop()
    const deleted = await first
    // Stopped after the batch under way: fewer than the whole backlog, and no pass starts after stop.
    expect(deleted).to.be.below(1_000)
    expect(await pruner.pass()).to.equal(0)
    expect(limits.length).to.equal(deleted / 100)
  })
})
