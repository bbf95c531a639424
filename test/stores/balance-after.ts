import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { IdempotencyKey, type PointEvent } from '../../src/events/model'
import type { Plan } from '../../src/events/store'
import { amount, userId } from '../support/values'
import type { StoreFixture } from './contract'

/** One stored event as the log's columns hold it. */
export interface LogRow {
  readonly version: number
  readonly timeMillis: number
  readonly balanceAfter: number
}

/** A SQL store and a raw look at its log, one user's rows in version order. */
export interface LogFixture extends StoreFixture {
  readonly rows: (user: number) => Promise<LogRow[]>
}

const event = (type: PointEvent['type'], user: number, n: number, timeMillis: number): PointEvent => ({ type, userId: userId(user), amount: amount(n), timeMillis })
const plan = (events: PointEvent[], balance: number, version: number, receipts: Plan['receipts'] = []): Plan => ({ events, projection: { balance, version }, receipts })

const right = <A>(result: E.Either<unknown, A>): A => {
  if (E.isLeft(result)) throw new Error(`expected success, got ${JSON.stringify(result.left)}`)
  return result.right
}

/** What a SQL store writes with each event so a point-in-time read is one row; run on SQLite and PostgreSQL alike. */
export function balanceAfterSuite(name: string, fixture: () => Promise<LogFixture>): void {
  describe(`balance after each event: ${name}`, function () {
    let current: LogFixture
    beforeEach(async function () {
      current = await fixture()
    })
    afterEach(async function () {
      await current.dispose()
    })

    it('stores with each event the balance right after it, on every append path', async function () {
      const { store } = current
      right(await store.append(userId(1), 0, plan([event('CHARGE', 1, 100, 1), event('USE', 1, 30, 2), event('CHARGE', 1, 5, 3)], 75, 3))())
      // With a receipt: PostgreSQL writes it in a savepoint of its own, SQLite the same as any other.
      const receipt = { key: 'k-1' as IdempotencyKey, userId: userId(1), fingerprint: 'Use:1:75', outcome: { _tag: 'Accepted' as const, point: 0 } }
      right(await store.append(userId(1), 3, plan([event('USE', 1, 75, 4)], 0, 4, [receipt]))())
      // Two users in one turn share a transaction.
      await Promise.all([
        store.append(userId(1), 4, plan([event('CHARGE', 1, 9, 5)], 9, 5))(),
        store.append(userId(2), 0, plan([event('CHARGE', 2, 7, 5)], 7, 1))(),
      ])
      expect((await current.rows(1)).map((r) => [r.version, r.balanceAfter])).to.deep.equal([[1, 100], [2, 70], [3, 75], [4, 0], [5, 9]])
      expect((await current.rows(2)).map((r) => [r.version, r.balanceAfter])).to.deep.equal([[1, 7]])
    })

    it("stamps an event no earlier than the user's event before it, so a clock stepping back leaves times in order", async function () {
      const { store } = current
      right(await store.append(userId(1), 0, plan([event('CHARGE', 1, 1, 10), event('CHARGE', 1, 1, 30), event('CHARGE', 1, 1, 20)], 3, 3))())
      right(await store.append(userId(2), 0, plan([event('CHARGE', 2, 1, 1)], 1, 1))())
      right(await store.append(userId(1), 3, plan([event('CHARGE', 1, 1, 5), event('CHARGE', 1, 1, 40)], 5, 5))())
      expect((await current.rows(1)).map((r) => r.timeMillis)).to.deep.equal([10, 30, 30, 30, 40])
      expect((await current.rows(2)).map((r) => r.timeMillis), "another user's times are their own").to.deep.equal([1])
    })
  })
}
