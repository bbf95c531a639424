import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import type { IdempotencyKey } from '../../src/events/model'
import { createLedger } from '../../src/projections/ledger'
import { MemoryStore } from '../../src/stores/memory'
import { fastMemoryStore, fastTables } from '../support/tables'
import { amount, userId } from '../support/values'
import { storeContract } from './contract'
import { feedContract } from './feed-contract'

storeContract('memory (given tables)', (options) => Promise.resolve({ store: fastMemoryStore(undefined, options), dispose: () => Promise.resolve() }))
feedContract('memory (given tables)', () => Promise.resolve({ store: fastMemoryStore(), dispose: () => Promise.resolve() }))

describe('memory store receipts', function () {
  it('keeps at most maxReceipts idempotency receipts, forgetting the oldest first', async function () {
    const { points, histories } = fastTables()
    const store = new MemoryStore(points, histories, { maxReceipts: 2 })
    const ledger = createLedger({ store, limits: { maxAmount: 100, maxBalance: 1_000 } })
    for (const k of ['a', 'b', 'c']) expect(E.isRight(await ledger.charge(userId(1), amount(1), k as IdempotencyKey)())).to.equal(true)
    const kept = await store.receipts(userId(1), ['a', 'b', 'c'] as IdempotencyKey[])()
    expect(E.map((receipts: Array<{ key: string }>) => receipts.map((r) => r.key))(kept)).to.deep.equal(E.right(['b', 'c']))
    const forgotten = await ledger.charge(userId(1), amount(1), 'a' as IdempotencyKey)()
    expect(E.isRight(forgotten) && forgotten.right.replayed).to.equal(undefined)
  })
})
