import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import type { LogEntry, ProjectionRow } from '../../src/projections/audit'
import { runAudit, type AuditReport, type AuditSource, type DuplicateKey } from '../../src/projections/audit-run'
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

describe('runAudit on a source given as arrays', function () {
  const entry = (id: number, user: number, type: 'CHARGE' | 'USE', n: number): LogEntry => ({ id, userId: userId(user), type, amount: amount(n) })
  const rebuilds: unknown[] = []
  const asked: { events: Array<number | undefined>; projections: Array<number | undefined>; duplicates: number } = { events: [], projections: [], duplicates: 0 }

  /** Events and rows in chunks, one chunk read asynchronously, as a driver would stream them. */
  const source = (events: LogEntry[], rows: ProjectionRow[], duplicates: DuplicateKey[] = []): AuditSource => ({
    scanEvents: (user) => {
      asked.events.push(user)
      const mine = events.filter((e) => user === undefined || e.userId === user)
      return (async function* () {
        yield mine.slice(0, 1)
        yield await Promise.resolve(mine.slice(1))
      })()
    },
    scanProjections: (user) => {
      asked.projections.push(user)
      return [rows.filter((r) => user === undefined || r.userId === user)]
    },
    duplicateKeys: () => {
      asked.duplicates += 1
      return duplicates
    },
    rebuild: (states) => {
      rebuilds.push(states)
      return Promise.resolve()
    },
  })

  beforeEach(function () {
    rebuilds.length = 0
    asked.events = []
    asked.projections = []
    asked.duplicates = 0
  })

  /** A clock that reads `start` ms, then `end` ms: the audit's duration. */
  const clockOf = (start: number, end: number) => {
    const readings = [start, end]
    return () => readings.shift() ?? end
  }

  it('counts users and events, and reports events per second over the clock it is given', async function () {
    const events = [entry(1, 1, 'CHARGE', 10), entry(2, 2, 'CHARGE', 5), entry(3, 1, 'USE', 4), entry(4, 1, 'CHARGE', 1)]
    const rows = [{ userId: userId(1), point: 7 }, { userId: userId(2), point: 5 }]
    const result = await report(runAudit(source(events, rows), limits, { clock: clockOf(1_000, 3_000) }))
    expect(result).to.deep.equal({ users: 2, events: 4, seconds: 2, eventsPerSecond: 2, findings: [], rebuilt: false })
    expect(rebuilds, 'no rebuild unless asked').to.deep.equal([])
  })

  it('reports as many events per second as events when the clock did not move', async function () {
    const result = await report(runAudit(source([entry(1, 1, 'CHARGE', 10)], [{ userId: userId(1), point: 10 }]), limits, { clock: () => 5 }))
    expect(result).to.include({ seconds: 0, eventsPerSecond: 1 })
  })

  it('rounds events per second to a whole number', async function () {
    const events = [entry(1, 1, 'CHARGE', 10), entry(2, 1, 'CHARGE', 10)]
    const result = await report(runAudit(source(events, [{ userId: userId(1), point: 20 }]), limits, { clock: clockOf(0, 3_000) }))
    expect(result.eventsPerSecond).to.equal(1)
  })

  it('reports duplicate keys and missing projection rows on a whole-log audit', async function () {
    const duplicates = [{ userId: userId(1), key: 'k', count: 2 }]
    const result = await report(runAudit(source([entry(1, 1, 'CHARGE', 10), entry(2, 2, 'CHARGE', 3)], [{ userId: userId(1), point: 10 }], duplicates), limits))
    expect(result.findings).to.deep.equal([
      { kind: 'PROJECTION_MISMATCH', userId: 2, projected: 'no row', replayed: 'point 3 at version 1' },
      { kind: 'DUPLICATE_KEY', userId: 1, key: 'k', count: 2 },
    ])
  })

  it('reads one user\'s events and rows alone, and skips the whole-log duplicate-key scan', async function () {
    const duplicates = [{ userId: userId(1), key: 'k', count: 2 }]
    const result = await report(runAudit(source([entry(1, 1, 'CHARGE', 10), entry(2, 2, 'CHARGE', 3)], [{ userId: userId(1), point: 10 }], duplicates), limits, { userId: userId(1) }))
    expect(result).to.include({ users: 1, events: 1 })
    expect(result.findings).to.deep.equal([])
    expect(asked).to.deep.equal({ events: [1], projections: [1], duplicates: 0 })
  })

  it('rebuilds the projection from the replayed states when asked', async function () {
    const result = await report(runAudit(source([entry(1, 1, 'CHARGE', 10), entry(2, 1, 'USE', 3)], [{ userId: userId(1), point: 99 }]), limits, { rebuild: true }))
    expect(result.rebuilt).to.equal(true)
    expect(rebuilds).to.deep.equal([[{ userId: 1, balance: 7, version: 2 }]])
  })

  it('answers StoreUnavailable with the cause when the source fails', async function () {
    const cause = new Error('scan failed')
    const failing: AuditSource = { ...source([], []), scanEvents: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(cause) }) }) }
    expect(await runAudit(failing, limits)()).to.deep.equal(E.left({ _tag: 'StoreUnavailable', cause }))
  })
})
