import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { runAudit, type AuditReport } from '../../src/projections/audit-run'
import { createLedger } from '../../src/projections/ledger'
import { MemoryStore } from '../../src/stores/memory'
import { fastTables } from '../support/tables'
import { amount, userId } from '../support/values'

const limits = { maxAmount: 1_000, maxBalance: 5_000 }

const report = async (run: ReturnType<typeof runAudit>): Promise<AuditReport> => {
  const result = await run()
  if (E.isLeft(result)) throw new Error('the audit could not read the store')
  return result.right
}

describe('runAudit on the memory store', function () {
  let tables: ReturnType<typeof fastTables>
  let store: MemoryStore

  beforeEach(async function () {
    tables = fastTables()
    store = new MemoryStore(tables.points, tables.histories)
    const ledger = createLedger({ store, limits })
    await Promise.all([
      ledger.charge(userId(1), amount(500))(),
      ledger.charge(userId(2), amount(300))(),
      ledger.use(userId(1), amount(200))(),
      ledger.use(userId(2), amount(900))(),
    ])
  })

  it('passes a log written by the service', async function () {
    const result = await report(runAudit(store, limits))
    expect(result).to.include({ users: 2, events: 3, rebuilt: false })
    expect(result.findings).to.deep.equal([])
  })

  it('reports a corrupted projection row, and --rebuild repairs it from the log', async function () {
    await tables.points.insertOrUpdate(1, 9_999)
    const found = await report(runAudit(store, limits))
    expect(found.findings).to.have.length(1)
    expect(found.findings[0]).to.include({ kind: 'PROJECTION_MISMATCH', userId: 1 })

    const rebuilt = await report(runAudit(store, limits, { rebuild: true }))
    expect(rebuilt.rebuilt).to.equal(true)
    expect((await tables.points.selectById(1)).point).to.equal(300)
    expect((await report(runAudit(store, limits))).findings).to.deep.equal([])
  })

  it('reports a corrupted log row that breaks a prefix', async function () {
    await tables.histories.insert(2, 400, 'USE', Date.now())
    const kinds = (await report(runAudit(store, limits))).findings.map((f) => f.kind)
    expect(kinds).to.include('NEGATIVE_BALANCE')
    expect(kinds).to.include('PROJECTION_MISMATCH')
  })

  it('audits one user alone', async function () {
    await tables.points.insertOrUpdate(2, 1)
    const one = await report(runAudit(store, limits, { userId: userId(1) }))
    expect(one).to.include({ users: 1, events: 2 })
    expect(one.findings).to.deep.equal([])
  })
})
