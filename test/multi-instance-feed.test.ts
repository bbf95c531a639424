import { expect } from 'chai'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import fc from 'fast-check'
import pg from 'pg'
import { freshDatabase, type FreshDatabase } from './support/postgres'
import { startServiceProcess, type ServiceProcess } from './support/process'
import { messages, openSse } from './support/sse'
import { tempDir, type TempDir } from './support/sqlite'

const users = [1, 2, 3, 4, 5]

interface FeedItem {
  readonly position: string
  readonly event: { readonly id: number; readonly userId: number; readonly type: string; readonly amount: number }
}

const commands = fc.array(
  fc.record({
    instance: fc.integer({ min: 0, max: 2 }),
    user: fc.constantFrom(...users),
    type: fc.constantFrom<'charge' | 'use'>('charge', 'use'),
    amount: fc.integer({ min: 1, max: 400 }),
  }),
  { minLength: 600, maxLength: 600 },
)

const logIds = async (url: string): Promise<Map<number, number[]>> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ id: string; user_id: string }>('SELECT id, user_id FROM events ORDER BY user_id, version')
    const byUser = new Map<number, number[]>()
    for (const row of rows) byUser.set(Number(row.user_id), [...(byUser.get(Number(row.user_id)) ?? []), Number(row.id)])
    return byUser
  } finally {
    await client.end()
  }
}

/** Every event in the log once; each user's in version order; a fold of them gives each balance the service reports. */
async function expectFollowed(seen: readonly FeedItem[], instances: readonly ServiceProcess[], url: string): Promise<void> {
  const ids = seen.map(({ event }) => event.id)
  const log = await logIds(url)
  expect(new Set(ids).size, 'no event twice').to.equal(ids.length)
  expect([...ids].sort((a, b) => a - b)).to.deep.equal([...log.values()].flat().sort((a, b) => a - b))
  for (const user of users) {
    const mine = seen.filter(({ event }) => event.userId === user)
    expect(mine.map(({ event }) => event.id), `user ${user} in version order`).to.deep.equal(log.get(user) ?? [])
    const folded = mine.reduce((balance, { event }) => balance + (event.type === 'CHARGE' ? event.amount : -event.amount), 0)
    const answer = (await (await fetch(`${instances[user % 3]!.url}/point/${user}`)).json()) as { point: number }
    expect(folded, `user ${user}'s balance`).to.equal(answer.point)
  }
}

interface Command {
  readonly instance: number
  readonly user: number
  readonly type: string
  readonly amount: number
}

const fire = (instances: readonly ServiceProcess[], { instance, user, type, amount }: Command) =>
  fetch(`${instances[instance]!.url}/point/${user}/${type}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount }),
  }).then((response) => response.arrayBuffer())

describe('the change feed followed while three instances on one PostgreSQL write', function () {
  this.timeout(120_000)
  let database: FreshDatabase
  let instances: ServiceProcess[] = []
  let dir: TempDir

  beforeEach(async function () {
    database = await freshDatabase()
    dir = await tempDir()
    const settings = { POINT_STORE: 'postgres', DATABASE_URL: database.url, POINT_MAX_AMOUNT: '400', POINT_MAX_BALANCE: '2000', PG_POOL_SIZE: '6', FEED_POLL_MS: '50' }
    instances = await Promise.all([0, 1, 2].map(() => startServiceProcess(settings)))
  })
  afterEach(async function () {
    await Promise.all(instances.map((i) => i.kill()))
    await database.drop()
    await dir.remove()
  })

  it('a follower of the pages and a stream on another instance each see every event once, per user in order, and fold to the balances', async function () {
    const sent = fc.sample(commands, { numRuns: 1, seed: Date.now() })[0]!
    const seen: FeedItem[] = []
    let writing = true
    const follower = (async () => {
      let after = '0'
      for (let last = false; !last; ) {
        last = !writing
        const page = (await (await fetch(`${instances[0]!.url}/events?after=${after}&limit=40`)).json()) as { events: FeedItem[]; next: string }
        seen.push(...page.events)
        after = page.next
        if (page.events.length === 40) last = false
      }
    })()
    const stream = await openSse(`${instances[1]!.url}/events/stream`)
    await Promise.all(sent.map((command) => fire(instances, command)))
    writing = false
    await follower
    await expectFollowed(seen, instances, database.url)

    // The stream, on an instance that took only a third of the writes, has every event too, in the same order.
    const streamed = messages(await stream.collect((() => {
      let count = 0
      return (item) => item.kind === 'message' && ++count === seen.length
    })()))
    await stream.close()
    expect(streamed.map((m) => m.id)).to.deep.equal(seen.map((item) => item.position))
  })

  it('a follower killed mid-run and restarted from its saved checkpoint still sees every event exactly once', async function () {
    const stateFile = join(dir.path, 'follower.json')
    const startFollower = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['--import', 'tsx', resolve(__dirname, 'support/feed-follower.ts'), instances[2]!.url, stateFile], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      // Started once it has saved a page.
      await new Promise<void>((started) => createInterface({ input: child.stdout }).once('line', () => started()))
      return child
    }
    const kill = async (child: ChildProcess) => {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
    const saved = (): FeedItem[] => (existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { events: FeedItem[] }).events : [])

    const sent = fc.sample(commands, { numRuns: 1, seed: Date.now() })[0]!
    const [early, late] = [sent.slice(0, 200), sent.slice(200)]
    await Promise.all(early.map((command) => fire(instances, command)))
    const first = await startFollower()
    const writes = Promise.all(late.map((command) => fire(instances, command)))
    await kill(first)
    const killedAt = saved().length
    const second = await startFollower()
    await writes
    const total = [...(await logIds(database.url)).values()].flat().length
    try {
      // The restarted follower catches up: watched through the state it saves.
      while (saved().length < total) await new Promise((resolve) => setTimeout(resolve, 50))
    } finally {
      await kill(second)
    }
    expect(killedAt).to.be.greaterThan(0).and.below(total)
    await expectFollowed(saved(), instances, database.url)
  })
})
