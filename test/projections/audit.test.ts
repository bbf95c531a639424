import { expect } from 'chai'
import { Auditor, type LogEntry } from '../../src/projections/audit'
import { amount, userId } from '../support/values'

const limits = { maxAmount: 1_000, maxBalance: 1_000 }

let nextId = 1
const entry = (user: number, type: 'CHARGE' | 'USE', n: number, version?: number): LogEntry => ({
  id: nextId++,
  userId: userId(user),
  type,
  amount: amount(n),
  ...(version === undefined ? {} : { version }),
})

const audit = (events: LogEntry[], projections: Array<{ user: number; point: number; version?: number }>) => {
  const auditor = new Auditor(limits)
  events.forEach((e) => auditor.event(e))
  projections.forEach(({ user, point, version }) =>
    auditor.projection({ userId: userId(user), point, ...(version === undefined ? {} : { version }) }),
  )
  auditor.missingProjections(new Set(projections.map((p) => userId(p.user))))
  return auditor
}

describe('Auditor', function () {
  it('passes a log whose projection is its replay', function () {
    const auditor = audit(
      [entry(1, 'CHARGE', 500, 1), entry(2, 'CHARGE', 10, 1), entry(1, 'USE', 200, 2)],
      [
        { user: 1, point: 300, version: 2 },
        { user: 2, point: 10, version: 1 },
      ],
    )
    expect(auditor.findings).to.deep.equal([])
    expect(auditor.events).to.equal(3)
    expect(auditor.userCount).to.equal(2)
    expect(auditor.replayed()).to.deep.equal([
      { userId: 1, balance: 300, version: 2, holds: [] },
      { userId: 2, balance: 10, version: 1, holds: [] },
    ])
  })

  it('reports a projection that disagrees with the log', function () {
    const auditor = audit([entry(1, 'CHARGE', 500, 1)], [{ user: 1, point: 501, version: 1 }])
    expect(auditor.findings).to.have.length(1)
    expect(auditor.findings[0]).to.include({ kind: 'PROJECTION_MISMATCH', userId: 1 })
  })

  it('reports a user whose events have no projection row', function () {
    const auditor = audit([entry(3, 'CHARGE', 5, 1)], [])
    expect(auditor.findings.map((f) => f.kind)).to.deep.equal(['PROJECTION_MISMATCH'])
  })

  it('reports a prefix that goes below zero or over the maximum', function () {
    const auditor = audit(
      [entry(1, 'USE', 5, 1), entry(1, 'CHARGE', 1_005, 2), entry(1, 'CHARGE', 1, 3)],
      [{ user: 1, point: 1_001, version: 3 }],
    )
    expect(auditor.findings.map((f) => f.kind)).to.deep.equal(['NEGATIVE_BALANCE', 'OVER_MAXIMUM'])
  })

  it('reports versions with a gap or going back, and ids that do not increase', function () {
    const first = entry(1, 'CHARGE', 5, 1)
    const gap = entry(1, 'CHARGE', 5, 3)
    const auditor = audit([first, gap, { ...entry(1, 'CHARGE', 5, 4), id: first.id }], [{ user: 1, point: 15, version: 3 }])
    expect(auditor.findings.map((f) => f.kind)).to.deep.equal(['OUT_OF_ORDER', 'OUT_OF_ORDER'])
  })

  it('reports a stored balance after an event that is not the replay up to it, and checks none where none is stored', function () {
    const auditor = audit(
      [
        { ...entry(1, 'CHARGE', 500, 1), balanceAfter: 500 },
        { ...entry(1, 'USE', 200, 2), balanceAfter: 301 },
        { ...entry(1, 'CHARGE', 1, 3), balanceAfter: 301 },
        entry(1, 'CHARGE', 1, 4),
      ],
      [{ user: 1, point: 302, version: 4 }],
    )
    expect(auditor.findings).to.deep.equal([{ kind: 'BALANCE_AFTER_MISMATCH', userId: 1, eventId: nextId - 3, stored: 301, replayed: 300 }])
  })

  it("reports a user's event stamped earlier than the one before it; equal times and other users' times are fine", function () {
    const auditor = audit(
      [
        { ...entry(1, 'CHARGE', 1, 1), timeMillis: 20 },
        { ...entry(1, 'CHARGE', 1, 2), timeMillis: 20 },
        { ...entry(2, 'CHARGE', 1, 1), timeMillis: 5 },
        { ...entry(1, 'CHARGE', 1, 3), timeMillis: 19 },
      ],
      [
        { user: 1, point: 3, version: 3 },
        { user: 2, point: 1, version: 1 },
      ],
    )
    expect(auditor.findings).to.deep.equal([{ kind: 'OUT_OF_ORDER', userId: 1, eventId: nextId - 1, detail: 'time 19 after 20' }])
  })

  it('reports duplicate idempotency keys it is told of', function () {
    const auditor = new Auditor(limits)
    auditor.duplicateKey(userId(3), 'k1', 2)
    expect(auditor.findings).to.deep.equal([{ kind: 'DUPLICATE_KEY', userId: 3, key: 'k1', count: 2 }])
  })

  describe('what a finding says', function () {
    it('describes a mismatched projection by point and version, as the row and as the replay', function () {
      const first = entry(1, 'CHARGE', 500, 1)
      const auditor = audit([first], [{ user: 1, point: 500, version: 2 }])
      expect(auditor.findings).to.deep.equal([{ kind: 'PROJECTION_MISMATCH', userId: 1, projected: 'point 500 at version 2', replayed: 'point 500 at version 1' }])
    })

    it('describes a mismatched projection without a version by its point alone', function () {
      const auditor = audit([entry(1, 'CHARGE', 500)], [{ user: 1, point: 499 }])
      expect(auditor.findings).to.deep.equal([{ kind: 'PROJECTION_MISMATCH', userId: 1, projected: 'point 499', replayed: 'point 500' }])
    })

    it('takes a row for a user with no events as balance 0 at version 0', function () {
      const auditor = audit([], [{ user: 4, point: 0, version: 0 }, { user: 5, point: 3, version: 1 }])
      expect(auditor.findings).to.deep.equal([{ kind: 'PROJECTION_MISMATCH', userId: 5, projected: 'point 3 at version 1', replayed: 'point 0 at version 0' }])
    })

    it('describes a user with events but no row by the replayed point and version', function () {
      const auditor = audit([entry(3, 'CHARGE', 5, 1), entry(3, 'CHARGE', 2, 2)], [])
      expect(auditor.findings).to.deep.equal([{ kind: 'PROJECTION_MISMATCH', userId: 3, projected: 'no row', replayed: 'point 7 at version 2' }])
    })

    it('names the ids and versions that are out of order', function () {
      const first = entry(1, 'CHARGE', 5, 1)
      const gap = entry(1, 'CHARGE', 5, 3)
      const repeated = { ...entry(1, 'CHARGE', 5, 4), id: first.id }
      const auditor = audit([first, gap, repeated], [{ user: 1, point: 15, version: 3 }])
      expect(auditor.findings).to.deep.equal([
        { kind: 'OUT_OF_ORDER', userId: 1, eventId: gap.id, detail: 'version 3 after 1' },
        { kind: 'OUT_OF_ORDER', userId: 1, eventId: first.id, detail: `id ${first.id} after ${gap.id}` },
      ])
    })

    it('counts versions for a log that stores none, so a later stored version is checked against the count', function () {
      const auditor = audit([entry(1, 'CHARGE', 5), entry(1, 'CHARGE', 5), entry(1, 'CHARGE', 5, 3)], [{ user: 1, point: 15 }])
      expect(auditor.findings).to.deep.equal([])
    })

    it('reports an amount that is zero, negative or not a whole number as a bad event', function () {
      const bad = [0, -5, 2.5].map((n): LogEntry => ({ ...entry(1, 'CHARGE', 1), amount: n as LogEntry['amount'] }))
      const auditor = new Auditor(limits)
      auditor.event(entry(1, 'CHARGE', 100))
      bad.forEach((e) => auditor.event(e))
      expect(auditor.findings.filter((f) => f.kind === 'BAD_EVENT')).to.deep.equal(
        bad.map((e) => ({ kind: 'BAD_EVENT', userId: 1, eventId: e.id, detail: `amount ${e.amount}` })),
      )
    })

    it('names the balance of a prefix below zero or over the maximum, and passes exactly 0 and exactly the maximum', function () {
      const ok = [entry(1, 'CHARGE', 1_000, 1), entry(1, 'USE', 1_000, 2)]
      expect(audit(ok, [{ user: 1, point: 0, version: 2 }]).findings).to.deep.equal([])
      const under = entry(2, 'USE', 5, 1)
      const over = entry(2, 'CHARGE', 1_006, 2)
      expect(audit([under, over], [{ user: 2, point: 1_001, version: 2 }]).findings).to.deep.equal([
        { kind: 'NEGATIVE_BALANCE', userId: 2, eventId: under.id, balance: -5 },
        { kind: 'OVER_MAXIMUM', userId: 2, eventId: over.id, balance: 1_001 },
      ])
    })

    it('takes any time for a user\'s first event', function () {
      const auditor = audit([{ ...entry(1, 'CHARGE', 1, 1), timeMillis: -1e15 }], [{ user: 1, point: 1, version: 1 }])
      expect(auditor.findings).to.deep.equal([])
    })

    it('checks times only between events that carry one', function () {
      const auditor = audit(
        [{ ...entry(1, 'CHARGE', 1, 1), timeMillis: 20 }, entry(1, 'CHARGE', 1, 2), { ...entry(1, 'CHARGE', 1, 3), timeMillis: 20 }],
        [{ user: 1, point: 3, version: 3 }],
      )
      expect(auditor.findings).to.deep.equal([])
    })

    it('reports a row that is not a valid event by the reason given, moving no points but counting its version', function () {
      const first = entry(1, 'CHARGE', 10, 1)
      const bad: LogEntry = { ...entry(1, 'CHARGE', 1, 2), invalid: 'type REFUND' }
      const auditor = audit([first, bad, entry(1, 'USE', 4, 3)], [{ user: 1, point: 6, version: 3 }])
      expect(auditor.findings).to.deep.equal([{ kind: 'BAD_EVENT', userId: 1, eventId: bad.id, detail: 'type REFUND' }])
      expect(auditor.replayed()).to.deep.equal([{ userId: 1, balance: 6, version: 3, holds: [] }])
    })

    it('reports an id equal to the one before it', function () {
      const first = entry(1, 'CHARGE', 5, 1)
      const again = { ...entry(1, 'CHARGE', 5, 2), id: first.id }
      const auditor = audit([first, again], [{ user: 1, point: 10, version: 2 }])
      expect(auditor.findings).to.deep.equal([{ kind: 'OUT_OF_ORDER', userId: 1, eventId: first.id, detail: `id ${first.id} after ${first.id}` }])
    })
  })
})
