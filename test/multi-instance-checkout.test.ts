import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import { Client } from 'pg'
import { runAudit } from './../src/projections/audit-run'
import { openPostgresStore } from './../src/stores/postgres'
import { freshDatabase, type FreshDatabase } from './support/postgres'
import { startServiceProcess, type ServiceProcess } from './support/process'

const maxAmount = 400
const maxBalance = 2_000
const users = [1, 2, 3, 4]
/** The rules' refusals: any other answer is a fault or a lost race. */
const ruleCodes = /^(409 (INSUFFICIENT_BALANCE|BALANCE_LIMIT_EXCEEDED|REFUND_EXCEEDS_USE|HOLD_ALREADY_RESOLVED|CAPTURE_EXCEEDS_HOLD)|404 (USE_NOT_FOUND|HOLD_NOT_FOUND))$/

interface Answer {
  readonly status: number
  readonly body: { code?: string; point?: number; hold?: { holdId: number } }
}

describe('three instances on one PostgreSQL, with refunds and holds', function () {
  this.timeout(90_000)
  let database: FreshDatabase
  let instances: ServiceProcess[] = []

  before(async function () {
    database = await freshDatabase()
    const settings = {
      POINT_STORE: 'postgres',
      DATABASE_URL: database.url,
      POINT_MAX_AMOUNT: String(maxAmount),
      POINT_MAX_BALANCE: String(maxBalance),
      PG_POOL_SIZE: '8',
      // Every instance sweeps, often, so their sweepers race for the same due holds.
      HOLD_SWEEP_INTERVAL_MS: '100',
    }
    instances = await Promise.all([0, 1, 2].map(() => startServiceProcess(settings)))
  })
  after(async function () {
    await Promise.all(instances.map((i) => i.kill()))
    await database.drop()
  })

  const send = async (instance: number, path: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${instances[instance]!.url}${path}`, {
      method: 'PATCH',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    })
    return { status: response.status, body: (await response.json()) as Answer['body'] }
  }
  const refusalsOf = (answers: readonly Answer[]) => answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.body.code}`).filter((s) => !ruleCodes.test(s))

  const query = async <R extends object>(sql: string): Promise<R[]> => {
    const client = new Client({ connectionString: database.url })
    await client.connect()
    try {
      return (await client.query<R>(sql)).rows
    } finally {
      await client.end()
    }
  }

  it('mixes charges, uses, holds, captures, releases and refunds over them: each hold resolved once, refunds within their uses, the audit clean', async function () {
    const pick = <A>(xs: readonly A[], seed: number): A => xs[seed % xs.length]!
    const seeds = fc.sample(fc.array(fc.nat(), { minLength: 400, maxLength: 400 }), { numRuns: 1, seed: Date.now() })[0]!
    const instance = (i: number) => seeds[i]! % 3

    // Points to work with, on every instance.
    const charged = await Promise.all(users.flatMap((u, i) => [0, 1, 2].map((k) => send(k, `/point/${u}/charge`, { amount: 300 + ((seeds[i]! + k) % 100) }))))
    expect(refusalsOf(charged)).to.deep.equal([])

    // Uses and holds at once, on any instance.
    const second = await Promise.all(
      seeds.slice(0, 120).map((seed, i) =>
        seed % 2 === 0
          ? send(instance(i + 1), `/point/${pick(users, seed)}/use`, { amount: 1 + (seed % 120) })
          : send(instance(i + 1), `/point/${pick(users, seed)}/hold`, { amount: 1 + (seed % 150), ttlSeconds: 600 }),
      ),
    )
    expect(refusalsOf(second)).to.deep.equal([])
    const held = seeds.slice(0, 120).flatMap((seed, i) => {
      const placed = second[i]!.body.hold
      return seed % 2 === 1 && placed !== undefined ? [{ user: pick(users, seed), holdId: placed.holdId }] : []
    })
    expect(held.length, 'some holds were placed').to.be.greaterThan(0)
    const uses = await query<{ id: number; user_id: number }>(`SELECT id, user_id FROM events WHERE type = 'USE'`)

    // Every hold captured (all or part) and released at once on two instances; refunds of the uses, several each, at once.
    const third = await Promise.all([
      ...held.flatMap(({ user, holdId }, i) => [
        send(instance(i + 200), `/point/${user}/holds/${holdId}/capture`, seeds[i + 250]! % 3 === 0 ? {} : { amount: 1 + (seeds[i + 250]! % 40) }),
        send((instance(i + 200) + 1) % 3, `/point/${user}/holds/${holdId}/release`),
      ]),
      ...uses.flatMap(({ id, user_id }, i) => [0, 1, 2].map((k) => send(k, `/point/${user_id}/refund`, { useId: Number(id), amount: 1 + (seeds[(i * 3 + k) % 400]! % 60) }))),
    ])
    expect(refusalsOf(third)).to.deep.equal([])
    for (const [i] of held.entries()) {
      const pair = [third[2 * i]!, third[2 * i + 1]!]
      expect(pair.map((a) => a.status).sort(), `hold ${i}: one of capture and release wins`).to.deep.equal([200, 409])
    }

    // Holds due within a second, and the sweepers of all three instances racing to record their expiries.
    const short = await Promise.all(users.map((u, i) => send(i % 3, `/point/${u}/hold`, { amount: 1, ttlSeconds: 1 })))
    expect(refusalsOf(short)).to.deep.equal([])
    const due = short.filter((a) => a.status === 200).length
    const deadline = Date.now() + 20_000
    let expired = 0
    while (expired < due && Date.now() < deadline) {
      expired = Number((await query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE type = 'EXPIRE'`))[0]!.n)
      // Polling the log for the sweepers' work, not waiting for it blindly: the loop ends as soon as it is there.
      if (expired < due) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(expired, 'every due hold expired, once').to.equal(due)

    const twice = await query(`SELECT user_id, ref FROM events WHERE type IN ('CAPTURE', 'RELEASE', 'EXPIRE') GROUP BY user_id, ref HAVING count(*) > 1`)
    expect(twice, 'holds resolved more than once').to.deep.equal([])
    const store = await openPostgresStore(database.url)
    try {
      const report = await runAudit(store, { maxAmount, maxBalance })()
      expect(E.isRight(report) && report.right.findings).to.deep.equal([])
    } finally {
      await store.close()
    }
  })
})
