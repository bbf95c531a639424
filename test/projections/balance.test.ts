import { expect } from 'chai'
import fc from 'fast-check'
import type { PointEvent } from '../../src/events/model'
import { project, replay } from '../../src/projections/balance'
import { amount, userId } from '../support/values'

const event = (type: 'CHARGE' | 'USE', n: number): PointEvent => ({ type, userId: userId(3), amount: amount(n), timeMillis: 5 })

const anyEvent = fc
  .record({ type: fc.constantFrom<'CHARGE' | 'USE'>('CHARGE', 'USE'), n: fc.integer({ min: 1, max: 10_000 }) })
  .map(({ type, n }) => event(type, n))

describe('balance projection', function () {
  it('replays an empty log to balance 0, version 0', function () {
    expect(replay([])).to.deep.equal({ balance: 0, version: 0 })
  })

  it('replays charges as credits and uses as debits, in order', function () {
    expect(replay([event('CHARGE', 1_000), event('USE', 250), event('CHARGE', 5), event('USE', 755)])).to.deep.equal({
      balance: 0,
      version: 4,
    })
  })

  it('projects new events onto a state as if the whole log were replayed', function () {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 30 }), fc.array(anyEvent, { maxLength: 30 }), (past, next) => {
        expect(project(replay(past), next)).to.deep.equal(replay([...past, ...next]))
      }),
    )
  })

  it('leaves a state unchanged when projecting no events', function () {
    expect(project({ balance: 42, version: 3 }, [])).to.deep.equal({ balance: 42, version: 3 })
  })

  it('gives the balance as charges minus uses and the version as the log length', function () {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 50 }), (log) => {
        const sum = (type: string) => log.filter((e) => e.type === type).reduce((total, e) => total + e.amount, 0)
        expect(replay(log)).to.deep.equal({ balance: sum('CHARGE') - sum('USE'), version: log.length })
      }),
    )
  })
})
