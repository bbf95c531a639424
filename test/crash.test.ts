import Sqlite from 'better-sqlite3'
import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import * as t from 'io-ts'
import { join } from 'node:path'
import { evolve, initialState } from '../src/events/decider'
import { StoredEvent, UserPoint } from '../src/events/model'
import { replay } from '../src/projections/balance'
import { startServiceProcess, type ServiceProcess } from './support/process'
import { tempDir, type TempDir } from './support/sqlite'

const users = [1, 2, 3, 4]
const commandsPerUser = 50
const maxBalance = 15_000
const concurrency = 16

type Kind = 'charge' | 'use'
interface Sent {
  readonly user: number
  readonly kind: Kind
  /** Unique within its user, so the command can be found in the log. */
  readonly amount: number
  status?: number
  point?: number
}

/** Charges and uses for every user, interleaved; the first use and the late charges are refused by the rules. */
const plan = (): Sent[] =>
  Array.from({ length: commandsPerUser }, (_, i) =>
    users.map((user): Sent => (i % 3 === 0 ? { user, kind: 'use', amount: 700 + i } : { user, kind: 'charge', amount: 1_000 + i })),
  ).flat()

const decode = <A>(codec: t.Decoder<unknown, A>, value: unknown): A => {
  const result = codec.decode(value)
  if (E.isLeft(result)) throw new Error(`unexpected response body: ${JSON.stringify(value)}`)
  return result.right
}

/** Sends the plan with a few commands in flight at once, and kills the service after `killAfter` answers. */
async function loadAndKill(service: ServiceProcess, commands: Sent[], killAfter: number): Promise<{ inFlightAtKill: number }> {
  let next = 0
  let answered = 0
  let inFlight = 0
  let inFlightAtKill = -1
  let killing: Promise<void> | undefined

  const send = async (command: Sent): Promise<void> => {
    const response = await fetch(`${service.url}/point/${command.user}/${command.kind}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: command.amount }),
    })
    const body: unknown = await response.json()
    command.status = response.status
    if (response.ok) command.point = decode(UserPoint, body).point
  }

  const worker = async (): Promise<void> => {
    while (killing === undefined && next < commands.length) {
      const command = commands[next++]!
      inFlight++
      try {
        await send(command)
        answered++
      } catch {
        // Cut off by the kill: its outcome is unknown, either way is allowed.
      } finally {
        inFlight--
      }
      if (answered >= killAfter && killing === undefined) {
        inFlightAtKill = inFlight
        killing = service.kill()
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  await (killing ?? service.kill())
  return { inFlightAtKill }
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url)
  expect(response.status, url).to.equal(200)
  return response.json()
}

describe('crash safety: SIGKILL under load, then restart on the same file', function () {
  this.timeout(30_000)
  let dir: TempDir

  beforeEach(async function () {
    dir = await tempDir()
  })
  afterEach(async function () {
    await dir.remove()
  })

  for (const killAfter of [1, 37, 90, 160]) {
    it(`keeps every acknowledged command, and only whole ones, when killed after ${killAfter} answers`, async function () {
      const settings = { POINT_STORE: 'sqlite', SQLITE_PATH: join(dir.path, 'data', 'points.db'), POINT_MAX_BALANCE: String(maxBalance), POINT_MAX_AMOUNT: '5000' }
      const commands = plan()
      const { inFlightAtKill } = await loadAndKill(await startServiceProcess(settings), commands, killAfter)
      expect(inFlightAtKill, 'commands in flight when the kill was sent').to.be.greaterThan(0)

      const restarted = await startServiceProcess(settings)
      try {
        for (const user of users) {
          const history = decode(t.array(StoredEvent), await getJson(`${restarted.url}/point/${user}/histories`))
          const projection = decode(UserPoint, await getJson(`${restarted.url}/point/${user}`))
          expect(projection.point, `user ${user}: projection = replay(log)`).to.equal(replay(history).balance)

          // Every prefix stays within the limits, and each acknowledged command is in the log once,
          // at the place its response reported.
          let state = initialState
          const balanceAfter = new Map<string, number>()
          for (const event of history) {
            state = evolve(state, event)
            expect(state.balance, `user ${user}: prefix balance`).to.be.within(0, maxBalance)
            const key = `${event.type.toLowerCase()} ${event.amount}`
            expect(balanceAfter.has(key), `user ${user}: ${key} logged twice`).to.equal(false)
            balanceAfter.set(key, state.balance)
          }
          for (const command of commands.filter((c) => c.user === user && c.status !== undefined)) {
            const key = `${command.kind} ${command.amount}`
            if (command.status === 200) expect(balanceAfter.get(key), `user ${user}: acknowledged ${key}`).to.equal(command.point)
            else expect(balanceAfter.has(key), `user ${user}: refused ${key} (${command.status})`).to.equal(false)
          }
        }

        const db = new Sqlite(settings.SQLITE_PATH, { readonly: true })
        try {
          // A user's balance is read from their last event: versions without gaps, each event with its running balance.
          const gaps = db
            .prepare(
              `SELECT user_id FROM events GROUP BY user_id HAVING min(version) <> 1 OR max(version) <> count(*)
               UNION SELECT e.user_id FROM events e
               WHERE e.balance_after <> (SELECT sum(iif(p.type = 'CHARGE', p.amount, -p.amount)) FROM events p WHERE p.user_id = e.user_id AND p.version <= e.version)`,
            )
            .pluck()
            .all()
          expect(gaps, 'users whose versions have gaps or whose stored balances are not the running sum').to.deep.equal([])
        } finally {
          db.close()
        }

        const after = await fetch(`${restarted.url}/point/1/charge`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ amount: 1 }),
        })
        expect(after.status, 'a command after the restart').to.be.oneOf([200, 409])
      } finally {
        await restarted.kill()
      }
    })
  }
})
