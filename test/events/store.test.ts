import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { rejection } from '../../src/events/model'
import { asFailure, attempt, recorded, storeCorrupt, storeUnavailable, versionConflict, type NewReceipt } from '../../src/events/store'
import { userId } from '../support/values'

const receipt = (outcome: NewReceipt['outcome']): NewReceipt => ({ key: 'k' as NewReceipt['key'], userId: userId(1), fingerprint: 'Charge:1:5', outcome })

describe('store port helpers', function () {
  it('reports a version conflict outside the writer as StoreUnavailable caused by it', function () {
    const conflict = versionConflict(userId(3), 4)
    expect(conflict).to.deep.equal({ _tag: 'VersionConflict', userId: 3, expectedVersion: 4 })
    expect(asFailure(conflict)).to.deep.equal({ _tag: 'StoreUnavailable', cause: conflict })
  })

  it('passes StoreUnavailable and StoreCorrupt on as they are', function () {
    const down = storeUnavailable(new Error('down'))
    expect(asFailure(down)).to.equal(down)
    const corrupt = storeCorrupt('point_history', 'id 17', 'amount')
    expect(corrupt).to.deep.equal({ _tag: 'StoreCorrupt', table: 'point_history', key: 'id 17', detail: 'amount' })
    expect(asFailure(corrupt)).to.equal(corrupt)
  })

  it('turns a store call that rejects or throws into StoreUnavailable with the error as its cause', async function () {
    const error = new Error('disk full')
    expect(await attempt(() => Promise.reject(error))()).to.deep.equal(E.left({ _tag: 'StoreUnavailable', cause: error }))
    expect(
      await attempt(() => {
        throw error
      })(),
    ).to.deep.equal(E.left({ _tag: 'StoreUnavailable', cause: error }))
    expect(await attempt(() => Promise.resolve(7))()).to.deep.equal(E.right(7))
  })

  it('stamps an accepted receipt with the commit time, and keeps a rejection as it was', function () {
    expect(recorded(receipt({ _tag: 'Accepted', point: 5 }), 1_234)).to.deep.equal({ ...receipt({ _tag: 'Accepted', point: 5 }), outcome: { _tag: 'Accepted', point: 5, updateMillis: 1_234 } })
    const refused = rejection('INSUFFICIENT_BALANCE', 'balance 0 is less than 5')
    expect(recorded(receipt(refused), 1_234)).to.deep.equal(receipt(refused))
  })
})
