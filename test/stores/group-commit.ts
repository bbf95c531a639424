import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import type { Amount, PointEvent } from '../../src/events/model'
import { amount, userId } from '../support/values'
import type { StoreFixture } from './contract'

const charge = (user: number, n: number): PointEvent => ({ type: 'CHARGE', userId: userId(user), amount: amount(n), timeMillis: 1_000 })
const tagOf = (result: E.Either<{ _tag: string }, unknown>): string => (E.isLeft(result) ? result.left._tag : 'Right')
const plan = (events: PointEvent[], balance: number, version: number) => ({ events, projection: { balance, version }, receipts: [] })

/** How a SQL store shares one transaction among the appends of one event-loop turn; run on SQLite and PostgreSQL alike. */
export function groupCommitSuite(name: string, fixture: (options: { onCommit?: (commit: { appends: number }) => void }) => Promise<StoreFixture>): void {
  describe(`group commit: ${name}`, function () {
    let current: StoreFixture | undefined
    afterEach(async function () {
      await current?.dispose()
      current = undefined
    })

    it('reports a stale member as a conflict and commits the others of its batch', async function () {
      const commits: number[] = []
      current = await fixture({ onCommit: (c) => commits.push(c.appends) })
      const { store } = current
      await store.append(userId(1), 0, plan([charge(1, 10)], 10, 1))()
      const results = await Promise.all([
        store.append(userId(2), 0, plan([charge(2, 2)], 2, 1))(),
        store.append(userId(1), 0, plan([charge(1, 5)], 5, 1))(),
        store.append(userId(1), 1, plan([charge(1, 6)], 16, 2))(),
        // Same user and version as the line above, in the same transaction: it sees the write and loses.
        store.append(userId(1), 1, plan([charge(1, 7)], 17, 2))(),
        store.append(userId(3), 0, plan([charge(3, 3)], 3, 1))(),
      ])
      expect(results.map(tagOf)).to.deep.equal(['Right', 'VersionConflict', 'Right', 'VersionConflict', 'Right'])
      expect(commits).to.deep.equal([1, 5])
      expect(await store.load(userId(1))()).to.deep.equal(E.right({ balance: 16, version: 2 }))
      const history = await store.history(userId(1))()
      expect(E.isRight(history) && history.right.map((e) => e.amount)).to.deep.equal([10, 6])
    })

    it('rolls back a failing member alone: none of its events, all of the others, even without receipts', async function () {
      current = await fixture({})
      const { store } = current
      const bad = { ...charge(1, 1), amount: 0 as Amount } // breaks the amount > 0 check
      const results = await Promise.all([
        store.append(userId(2), 0, plan([charge(2, 2)], 2, 1))(),
        store.append(userId(1), 0, plan([charge(1, 9), bad], 9, 2))(),
        store.append(userId(3), 0, plan([charge(3, 3)], 3, 1))(),
      ])
      expect(results.map(tagOf)).to.deep.equal(['Right', 'StoreUnavailable', 'Right'])
      expect(await store.history(userId(1))()).to.deep.equal(E.right([]))
      expect(await store.load(userId(1))()).to.deep.equal(E.right({ balance: 0, version: 0 }))
      expect(await store.load(userId(3))()).to.deep.equal(E.right({ balance: 3, version: 1 }))
    })
  })
}
