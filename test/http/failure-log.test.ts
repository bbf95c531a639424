import { expect } from 'chai'
import { defect } from '../../src/events/commands'
import { rejection } from '../../src/events/model'
import { storeCorrupt, storeUnavailable, versionConflict } from '../../src/events/store'
import { loggedCause, loggedFailure } from '../../src/http/failure-log'
import { userId } from '../support/values'

describe('what a failed request logs of its error', function () {
  it("takes a driver error's code and message, and nothing else it carries", function () {
    // As pg reports a unique violation: `detail` quotes the row's values.
    const pgError = Object.assign(new Error('duplicate key value violates unique constraint "receipts_pkey"'), {
      code: '23505',
      detail: 'Key (key)=(order-42) already exists.',
    })
    expect(loggedFailure(storeUnavailable(pgError))).to.deep.equal({ code: '23505', message: 'duplicate key value violates unique constraint "receipts_pkey"' })
  })

  it('names each address of a refused connection, whose AggregateError has no message of its own', function () {
    const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' })
    const both = Object.assign(new AggregateError([refused('::1:5432'), refused('127.0.0.1:5432')], ''), { code: 'ECONNREFUSED' })
    expect(loggedCause(both)).to.deep.equal({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432' })
  })

  it('names a corrupt row by table and key, a lost race by its code, a bug by its message, and logs nothing for a rejection', function () {
    expect(loggedFailure(storeCorrupt('events', 'id 7', 'bad type'))).to.deep.equal({ code: 'STORE_CORRUPT', message: 'events row id 7 does not decode: bad type' })
    expect(loggedFailure(storeUnavailable(versionConflict(userId(1), 3)))).to.include({ code: 'VERSION_CONFLICT' })
    expect(loggedFailure(defect(new TypeError('x is undefined')))).to.deep.equal({ message: 'x is undefined' })
    expect(loggedFailure(rejection('INSUFFICIENT_BALANCE', 'too low'))).to.equal(undefined)
  })
})
