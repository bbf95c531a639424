import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import type { HoldsRow, LogEntry, ProjectionRow } from '../../src/projections/audit'
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
  const source = (events: LogEntry[], rows: ProjectionRow[], duplicates: DuplicateKey[] = [], holds?: HoldsRow[]): AuditSource => ({
    ...(holds === undefined ? {} : { scanHolds: (user?: number) => [holds.filter((h) => user === undefined || h.userId === user)] }),
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
    rebuild: (states, user) => {
      rebuilds.push(user === undefined ? states : { states, user })
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
    expect(result).to.deep.equal({ users: 2, events: 4, seconds: 2, eventsPerSecond: 2, findings: [], compared: ['balances'], rebuilt: false })
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
    expect(rebuilds).to.deep.equal([[{ userId: 1, balance: 7, version: 2, holds: [] }]])
  })

  const hold = (id: number, user: number, ref: number, n: number, timeMillis: number): LogEntry => ({ ...entry(id, user, 'CHARGE', n), type: 'HOLD', ref, expiresAt: 9_000, timeMillis })
  const ended = (id: number, user: number, type: 'RELEASE' | 'CAPTURE', ref: number, n: number): LogEntry => ({ ...entry(id, user, 'CHARGE', n), type, ref, timeMillis: 50 })
  const row = (user: number, holdId: number, n: number, expiresAt: number, placedAt: number): HoldsRow => ({ userId: userId(user), holdId, amount: n, expiresAt, placedAt })

  it('compares the holds table with the holds the log leaves unresolved: a row missing, extra, or with another amount, expiry or time', async function () {
    const events = [{ ...entry(1, 1, 'CHARGE', 100), timeMillis: 5 }, hold(2, 1, 2, 10, 10), hold(3, 1, 3, 20, 11), hold(4, 1, 4, 30, 12), hold(5, 1, 5, 5, 13), ended(6, 1, 'RELEASE', 5, 5), hold(7, 1, 7, 1, 60)]
    const rows = [row(1, 3, 25, 9_000, 11), row(1, 4, 30, 8_000, 12), row(1, 5, 5, 9_000, 13), row(1, 7, 1, 9_000, 99), row(2, 1, 1, 9_000, 1)]
    const result = await report(runAudit(source(events, [{ userId: userId(1), point: 100 }], [], rows), limits))
    expect(result.findings).to.deep.equal([
      { kind: 'HOLD_ROW_MISMATCH', userId: 1, holdId: 3, stored: 'amount 25, expires 9000, placed 11', replayed: 'amount 20, expires 9000, placed 11' },
      { kind: 'HOLD_ROW_MISMATCH', userId: 1, holdId: 4, stored: 'amount 30, expires 8000, placed 12', replayed: 'amount 30, expires 9000, placed 12' },
      { kind: 'HOLD_ROW_MISMATCH', userId: 1, holdId: 5, stored: 'amount 5, expires 9000, placed 13', replayed: 'no active hold' },
      { kind: 'HOLD_ROW_MISMATCH', userId: 1, holdId: 7, stored: 'amount 1, expires 9000, placed 99', replayed: 'amount 1, expires 9000, placed 60' },
      { kind: 'HOLD_ROW_MISMATCH', userId: 2, holdId: 1, stored: 'amount 1, expires 9000, placed 1', replayed: 'no active hold' },
      { kind: 'HOLD_ROW_MISMATCH', userId: 1, holdId: 2, stored: 'no row', replayed: 'amount 10, expires 9000, placed 10' },
    ])
  })

  it('passes a holds table that is the fold of the log, and a store without one is not asked', async function () {
    const events = [{ ...entry(1, 1, 'CHARGE', 100), timeMillis: 5 }, hold(2, 1, 2, 10, 10), hold(3, 1, 3, 20, 11), ended(4, 1, 'CAPTURE', 3, 20)]
    const projection = [{ userId: userId(1), point: 80 }]
    expect((await report(runAudit(source(events, projection, [], [row(1, 2, 10, 9_000, 10)]), limits))).findings).to.deep.equal([])
    expect((await report(runAudit(source(events, projection), limits))).findings).to.deep.equal([])
  })

  it('rebuilds with the holds each user is left with, and a one-user audit rebuilds that user alone', async function () {
    const events = [{ ...entry(1, 1, 'CHARGE', 100), timeMillis: 5 }, hold(2, 1, 2, 10, 10), hold(3, 1, 3, 20, 11), ended(4, 1, 'RELEASE', 3, 20), entry(5, 2, 'CHARGE', 7)]
    await report(runAudit(source(events, [], [], []), limits, { rebuild: true }))
    await report(runAudit(source(events, [], [], []), limits, { rebuild: true, userId: userId(1) }))
    const user1 = { userId: 1, balance: 100, version: 4, holds: [{ holdId: 2, amount: 10, expiresAt: 9_000, placedAt: 10 }] }
    expect(rebuilds).to.deep.equal([[user1, { userId: 2, balance: 7, version: 1, holds: [] }], { states: [user1], user: 1 }])
  })

  it('audits a store without a balance projection on its log and holds alone: no projection to find missing, and a rebuild of the holds', async function () {
    const withoutProjection = (given: AuditSource): AuditSource => {
      const copy = { ...given }
      delete copy.scanProjections
      return copy
    }
    const events = [{ ...entry(1, 1, 'CHARGE', 100), timeMillis: 5, balanceAfter: 100 }, { ...hold(2, 1, 2, 10, 10), balanceAfter: 100 }, { ...entry(3, 2, 'CHARGE', 7), balanceAfter: 8 }]
    const logOnly = withoutProjection(source(events, [], [], [row(1, 2, 10, 9_000, 10)]))
    const found = await report(runAudit(logOnly, limits, { rebuild: true }))
    // The stored balance is what such a store answers: a wrong one is found on its event, and no projection is made up.
    expect(found.findings).to.deep.equal([{ kind: 'BALANCE_AFTER_MISMATCH', userId: 2, eventId: 3, stored: 8, replayed: 7 }])
    expect(found).to.include({ users: 2, events: 3, rebuilt: true })
    expect(found.compared).to.deep.equal(['holds'])
    expect(asked.projections).to.deep.equal([])
    expect(rebuilds).to.deep.equal([[
      { userId: 1, balance: 100, version: 2, holds: [{ holdId: 2, amount: 10, expiresAt: 9_000, placedAt: 10 }] },
      { userId: 2, balance: 7, version: 1, holds: [] },
    ]])
    expect((await report(runAudit(withoutProjection(source([], [])), limits))).compared, 'neither table: the log alone').to.deep.equal([])
  })

  it('answers StoreUnavailable with the cause when the source fails', async function () {
    const cause = new Error('scan failed')
    const failing: AuditSource = { ...source([], []), scanEvents: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(cause) }) }) }
    expect(await runAudit(failing, limits)()).to.deep.equal(E.left({ _tag: 'StoreUnavailable', cause }))
  })
})
