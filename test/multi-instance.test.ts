import { expect } from 'chai'
import fc from 'fast-check'
import { expectAnswersAccountForLog, expectConsistentLog, readLedgerTables, runningBalances } from './support/ledger-log'
import { freshDatabase, type FreshDatabase } from './support/postgres'
import { startServiceProcess, type ServiceProcess } from './support/process'

const maxAmount = 400
const maxBalance = 2_000
const users = [1, 2, 3, 4, 5]

interface Command {
  readonly instance: number
  readonly user: number
  readonly type: 'CHARGE' | 'USE'
  readonly amount: number
}

interface Answer extends Command {
  readonly status: number
  readonly body: { point?: number; code?: string }
}

const commands = fc.array(
  fc.record({
    instance: fc.integer({ min: 0, max: 2 }),
    user: fc.constantFrom(...users),
    // Uses a bit more often than charges at higher amounts, so both limits are hit now and then.
    type: fc.constantFrom<'CHARGE' | 'USE'>('CHARGE', 'USE'),
    amount: fc.integer({ min: 1, max: maxAmount }),
  }),
  { minLength: 600, maxLength: 600 },
)

async function fire(instances: readonly ServiceProcess[], command: Command): Promise<Answer> {
  const path = command.type === 'CHARGE' ? 'charge' : 'use'
  const response = await fetch(`${instances[command.instance]!.url}/point/${command.user}/${path}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount: command.amount }),
  })
  return { ...command, status: response.status, body: (await response.json()) as Answer['body'] }
}

describe('three instances on one PostgreSQL', function () {
  this.timeout(60_000)
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
    }
    // Started together, so their migrations race on the advisory lock.
    instances = await Promise.all([0, 1, 2].map(() => startServiceProcess(settings)))
  })
  after(async function () {
    await Promise.all(instances.map((i) => i.kill()))
    await database.drop()
  })

  it('applies 600 mixed commands spread over them exactly once, in one order per user, each answer the log up to its own event', async function () {
    const sent = fc.sample(commands, { numRuns: 1, seed: Date.now() })[0]!
    const answers = await Promise.all(sent.map((command) => fire(instances, command)))

    // Every refusal is a rule's, never a fault or a lost version race.
    const refused = answers.filter((a) => a.status !== 200)
    expect(refused.map((a) => `${a.status} ${a.body.code}`).filter((s) => !/^409 (INSUFFICIENT_BALANCE|BALANCE_LIMIT_EXCEEDED)$/.test(s))).to.deep.equal([])
    expect(refused.length, 'the limits should refuse some commands').to.be.greaterThan(0)

    const tables = await readLedgerTables(database.url)
    const accepted = answers.filter((a) => a.status === 200).map((a) => ({ ...a, point: a.body.point }))
    for (const user of users) {
      expectConsistentLog(tables, user)
      // None below zero or above the maximum.
      expect(runningBalances(tables, user).filter((b) => b < 0 || b > maxBalance), `user ${user}'s balances`).to.deep.equal([])
      expectAnswersAccountForLog(tables, user, accepted)
    }
  })

  it('decides on the stored state, not on an instance\'s cached one, once another instance has written for the user', async function () {
    // A user of its own, away from the first test's; each instance keeps the state it last decided.
    const user = 99
    const send = async (instance: number, type: Command['type'], amount: number) => {
      const { status, body } = await fire(instances, { instance, user, type, amount })
      return `${status} ${body.point ?? body.code}`
    }
    expect(await send(0, 'CHARGE', 100)).to.equal('200 100')
    expect(await send(1, 'USE', 60)).to.equal('200 40')
    // Instance 0 holds 100 for the user: its append is refused, it reads 40 and decides again.
    expect(await send(0, 'CHARGE', 10)).to.equal('200 50')
    expect(await send(1, 'CHARGE', 250)).to.equal('200 300')
    // Instance 0 holds 50, on which this would be refused; the store holds 300.
    expect(await send(0, 'USE', 280)).to.equal('200 20')
    // And a refusal on the stored state is still a refusal.
    expect(await send(1, 'USE', 30)).to.equal('409 INSUFFICIENT_BALANCE')

    const tables = await readLedgerTables(database.url)
    expectConsistentLog(tables, user)
    expect(runningBalances(tables, user)).to.deep.equal([100, 40, 50, 300, 20])
  })
})
