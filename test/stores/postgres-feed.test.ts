import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import pg from 'pg'
import { feedStart, type FeedPosition } from '../../src/events/feed'
import { createLedger } from '../../src/projections/ledger'
import type { PostgresStore } from '../../src/stores/postgres'
import { claimAndWrite } from '../../src/stores/postgres/sql/claim-and-write'
import { claimAndWriteAll } from '../../src/stores/postgres/sql/claim-and-write-all'
import type { AppendJob } from '../../src/stores/sql/rows'
import { postgresFixture } from '../support/postgres'
import { amount, userId } from '../support/values'
import type { StoreFixture } from './contract'

/** A reader of the feed that keeps its checkpoint: `read` answers the ids after it and moves it on. */
interface Follower {
  readonly read: () => Promise<number[]>
}

/** The service's feed, followed the way a consumer does. */
const feedFollower = (store: PostgresStore): Follower => {
  let after: FeedPosition = feedStart
  return {
    read: async () => {
      const page = await store.feed({ after, limit: 100 })()
      if (E.isLeft(page)) throw new Error('the feed failed')
      after = page.right.at(-1)?.position ?? after
      return page.right.map(({ event }) => event.id ?? 0)
    },
  }
}

/** The naive reader the issue warns of: ids are its positions. */
const naiveFollower = (url: string): Follower & { close: () => Promise<void> } => {
  const client = new pg.Client({ connectionString: url })
  const connected = client.connect()
  let after = 0
  return {
    read: async () => {
      await connected
      const { rows } = await client.query<{ id: string }>('SELECT id FROM events WHERE id > $1 ORDER BY id LIMIT 100', [after])
      const ids = rows.map((row) => Number(row.id))
      after = ids.at(-1) ?? after
      return ids
    },
    close: () => client.end(),
  }
}

describe('postgres feed: a slow transaction holding a lower id', function () {
  let fixture: StoreFixture & { store: PostgresStore; url: string }
  let slow: pg.Client

  beforeEach(async function () {
    fixture = await postgresFixture()
    slow = new pg.Client({ connectionString: fixture.url })
    await slow.connect()
  })
  afterEach(async function () {
    await slow.end()
    await fixture.dispose()
  })

  /**
   * An injected transaction takes an event id, then the service commits a higher one, then the injected one
   * commits. The follower reads in between and after; answers every id it was shown, in order.
   */
  async function throughSlowTransaction(follower: Follower): Promise<{ seen: number[]; low: number; high: number }> {
    const ledger = createLedger({ store: fixture.store, limits: { maxAmount: 1_000, maxBalance: 100_000 } })
    await slow.query('BEGIN')
    const inserted = await slow.query<{ id: string }>(
      `INSERT INTO events (user_id, version, type, amount, time_millis, balance_after) VALUES (99, 1, 'CHARGE', 5, 1, 5) RETURNING id`,
    )
    await slow.query('INSERT INTO balances (user_id, point, version, update_millis) VALUES (99, 5, 1, 1)')
    const low = Number(inserted.rows[0]!.id)
    const charged = await ledger.charge(userId(1), amount(10))()
    expect(E.isRight(charged)).to.equal(true)
    const history = await fixture.store.history(userId(1))()
    const high = E.isRight(history) ? history.right[0]!.id : 0
    expect(high).to.be.greaterThan(low)

    const seen = await follower.read()
    await slow.query('COMMIT')
    seen.push(...(await follower.read()))
    return { seen, low, high }
  }

  it('the feed waits for it and then shows both, the lower id first', async function () {
    const { seen, low, high } = await throughSlowTransaction(feedFollower(fixture.store))
    expect(seen).to.deep.equal([low, high])
  })

  it('(the same run on a naive ORDER BY id reader skips the lower id for good, which is what the test above guards)', async function () {
    const naive = naiveFollower(fixture.url)
    try {
      const { seen, high } = await throughSlowTransaction(naive)
      expect(seen).to.deep.equal([high])
    } finally {
      await naive.close()
    }
  })

  /**
   * As a writer that asked for user 5's row lock early (taking its transaction id) and got it only after others had
   * written the user twice: `append` writes version 3 inside that transaction. Answers the amounts as the feed
   * orders them (1, 2, then 3 is the user's version order).
   */
  async function afterAnEarlyTransactionId(append: (db: pg.Client, job: AppendJob) => Promise<unknown>): Promise<number[]> {
    const ledger = createLedger({ store: fixture.store, limits: { maxAmount: 1_000, maxBalance: 100_000 } })
    await slow.query('BEGIN')
    await slow.query('SELECT pg_current_xact_id()')
    for (const n of [1, 2]) expect(E.isRight(await ledger.charge(userId(5), amount(n))())).to.equal(true)
    const third = { type: 'CHARGE' as const, userId: userId(5), amount: amount(3), timeMillis: 1 }
    await append(slow, { userId: userId(5), expectedVersion: 2, plan: { events: [third], projection: { balance: 6, version: 3 }, receipts: [] } })
    await slow.query('COMMIT')
    const page = await fixture.store.feed({ after: feedStart, limit: 10 })()
    return E.isRight(page) ? page.right.map(({ event }) => event.amount) : []
  }

  it('keeps a user\'s events in version order when a transaction took its id before the user\'s earlier writes (one user\'s append)', async function () {
    expect(await afterAnEarlyTransactionId((db, job) => claimAndWrite(db, job, 1))).to.deep.equal([1, 2, 3])
  })

  it('the same through the statement that appends a batch of users', async function () {
    expect(await afterAnEarlyTransactionId((db, job) => claimAndWriteAll(db, [job], 1))).to.deep.equal([1, 2, 3])
  })

  it('(the same steps with an insert that keeps its own transaction id put version 3 first, which is what the two tests above guard)', async function () {
    const plainInsert = async (db: pg.Client) => {
      await db.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after) VALUES (5, 3, 'CHARGE', 3, 1, 6)`)
      await db.query('UPDATE balances SET point = 6, version = 3 WHERE user_id = 5')
    }
    expect(await afterAnEarlyTransactionId(plainInsert)).to.deep.equal([3, 1, 2])
  })

  it('orders transactions as numbers, not as text: 9 before 10, whatever the ids', async function () {
    await slow.query(`INSERT INTO events (user_id, version, type, amount, time_millis, balance_after, tx)
      VALUES (98, 1, 'CHARGE', 1, 1, 1, '10'), (99, 1, 'CHARGE', 1, 1, 1, '9'), (97, 1, 'CHARGE', 1, 1, 1, '100')`)
    const page = await fixture.store.feed({ after: feedStart, limit: 10 })()
    expect(E.isRight(page) && page.right.map(({ position, event }) => [position.commit, event.userId])).to.deep.equal([
      [9, 99],
      [10, 98],
      [100, 97],
    ])
    const rest = await fixture.store.feed({ after: { commit: 9, event: Number.MAX_SAFE_INTEGER }, limit: 10 })()
    expect(E.isRight(rest) && rest.right.map(({ event }) => event.userId)).to.deep.equal([98, 97])
  })

  it('a transaction that began first but took its id after a committed one is shown too', async function () {
    const ledger = createLedger({ store: fixture.store, limits: { maxAmount: 1_000, maxBalance: 100_000 } })
    const follower = feedFollower(fixture.store)
    await slow.query('BEGIN')
    // The transaction id is taken now, the event id only later.
    await slow.query('SELECT pg_current_xact_id()')
    expect(E.isRight(await ledger.charge(userId(1), amount(10))())).to.equal(true)
    const seenEarly = await follower.read()
    const inserted = await slow.query<{ id: string }>(
      `INSERT INTO events (user_id, version, type, amount, time_millis, balance_after) VALUES (99, 1, 'CHARGE', 5, 1, 5) RETURNING id`,
    )
    await slow.query('INSERT INTO balances (user_id, point, version, update_millis) VALUES (99, 5, 1, 1)')
    await slow.query('COMMIT')
    const seen = [...seenEarly, ...(await follower.read())]
    const history = await fixture.store.history(userId(1))()
    const charged = E.isRight(history) ? history.right[0]!.id : 0
    expect(seenEarly).to.deep.equal([])
    expect([...seen].sort((a, b) => a - b)).to.deep.equal([charged, Number(inserted.rows[0]!.id)])
  })
})
