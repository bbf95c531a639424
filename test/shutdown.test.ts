import { expect } from 'chai'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { StoredEvent } from '../src/events/model'
import { replay } from '../src/projections/balance'
import { patchJson } from './support/server'

/**
 * The child runs on a SQLite file, so after the restart the log must hold
 * exactly the answered commands. (With `POINT_STORE: 'memory'` and
 * `durable: false` the restart could only check that log and projection agree.)
 */
const dataDir = mkdtempSync(join(tmpdir(), 'point-ledger-shutdown-'))
const store = { env: { POINT_STORE: 'sqlite', SQLITE_PATH: join(dataDir, 'points.db') }, durable: true }

const root = join(__dirname, '..')

interface Child {
  readonly url: string
  readonly process: ChildProcess
  readonly exited: Promise<number | null>
  readonly log: Record<string, unknown>[]
}

/** `npm start`'s entry point on a free port; resolves once it logs where it listens. */
async function startChild(): Promise<Child> {
  // A minimal environment: the child's configuration is only what the test sets.
  const env = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '15000', ...store.env }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const log: Record<string, unknown>[] = []
  const url = await new Promise<string>((resolve, reject) => {
    void exited.then((code) => reject(new Error(`the service exited with ${code} before listening`)))
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as Record<string, unknown>
      log.push(line)
      const listening = /^listening on (http:\/\/\S+)$/.exec(String(line['msg']))
      if (listening?.[1] !== undefined) resolve(listening[1])
    })
  })
  return { url, process: child, exited, log }
}

/** What the client saw; `status` is 'none' when no HTTP answer came back. */
type Outcome = { readonly id: string; readonly status: number | 'none' } & (
  | { readonly kind: 'answered'; readonly user: number; readonly amount: number; readonly point: number }
  | { readonly kind: 'refused'; readonly how: string }
)

/** The errors a client sees when a connection is refused or closed before its request was taken. */
const refusedCodes = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']

async function charge(url: string, user: number, amount: number, id: string): Promise<Outcome> {
  let response: Response
  try {
    response = await patchJson(`${url}/point/${user}/charge`, { amount }, { 'x-request-id': id })
  } catch (error) {
    const code = String((error as { cause?: { code?: string } }).cause?.code)
    if (refusedCodes.includes(code)) return { id, status: 'none', kind: 'refused', how: code }
    throw error
  }
  const body = (await response.json()) as { point?: number; code?: string }
  const { status } = response
  if (status === 200 && typeof body.point === 'number') return { id, status, kind: 'answered', user, amount, point: body.point }
  if (status === 503 && body.code === 'SHUTTING_DOWN') return { id, status, kind: 'refused', how: 'SHUTTING_DOWN' }
  throw new Error(`unexpected answer ${response.status} ${JSON.stringify(body)}`)
}

/**
 * Charges only go up, so a user's answered balances, in order, must each be
 * the one before plus that command's amount, starting from 0. A command that
 * was applied but not answered would leave a gap.
 */
function expectEveryAppliedCommandAnswered(answers: { amount: number; point: number }[]): number {
  const sorted = [...answers].sort((a, b) => a.point - b.point)
  let total = 0
  for (const { amount, point } of sorted) {
    expect(point, `balance after +${amount} from ${total}`).to.equal(total + amount)
    total = point
  }
  return total
}

describe('graceful shutdown (child process)', function () {
  after(function () {
    rmSync(dataDir, { recursive: true, force: true })
  })

  this.timeout(60_000)
  const users = [1, 2, 3, 4]
  const clientsPerUser = 3

  it('on SIGTERM mid-load, answers every accepted command, refuses the rest before any work, and exits 0', async function () {
    const child = await startChild()
    const outcomes: Outcome[] = []
    let answeredBeforeSignal = 0
    let signalled = false
    const signalAfter = 12

    /** One client: charges in a loop until the service refuses it. */
    const client = async (user: number, amount: number): Promise<void> => {
      for (let n = 1; ; n++) {
        const outcome = await charge(child.url, user, amount, `client-${amount}-${n}`)
        outcomes.push(outcome)
        if (outcome.kind === 'refused') return
        if (!signalled && ++answeredBeforeSignal === signalAfter) {
          signalled = true
          child.process.kill('SIGTERM')
        }
      }
    }
    const clients = users.flatMap((user) => Array.from({ length: clientsPerUser }, (_, i) => client(user, user * 10 + i + 1)))
    await Promise.all(clients)
    const code = await child.exited

    expect(code, 'exit code').to.equal(0)
    const messages = child.log.map((line) => line['msg'])
    expect(messages).to.include.members(['shutting down', 'shutdown complete'])
    expect(outcomes.filter((o) => o.kind === 'refused')).to.have.length(users.length * clientsPerUser)
    const answered = outcomes.filter((o) => o.kind === 'answered')
    expect(answered.length, 'some commands were still answered after SIGTERM').to.be.greaterThan(signalAfter)

    // The service's own request log: a request it took has a line; one refused at the socket has none.
    const logged = new Map(
      child.log
        .filter((line) => String(line['reqId']).startsWith('client-') && line['status'] !== undefined)
        .map((line) => [line['reqId'], line['status']]),
    )
    expect(logged.size, 'every logged request was sent by a client').to.equal(outcomes.filter((o) => o.status !== 'none').length)
    expect(outcomes.map((o) => [o.id, logged.get(o.id) ?? 'none'])).to.deep.equal(outcomes.map((o) => [o.id, o.status]))

    const totals = new Map<number, number>()
    for (const user of users) {
      totals.set(user, expectEveryAppliedCommandAnswered(answered.filter((o) => o.user === user)))
    }

    // After a restart, the log and the projection agree (and, on a durable store, hold exactly what was answered).
    const again = await startChild()
    try {
      for (const user of users) {
        const point = ((await (await fetch(`${again.url}/point/${user}`)).json()) as { point: number }).point
        const history = (await (await fetch(`${again.url}/point/${user}/histories`)).json()) as StoredEvent[]
        expect(point, `user ${user}: projection = replay(log)`).to.equal(replay(history).balance)
        if (store.durable) expect(point, `user ${user}: the answered total`).to.equal(totals.get(user))
      }
    } finally {
      again.process.kill('SIGTERM')
      expect(await again.exited).to.equal(0)
    }
  })
})
