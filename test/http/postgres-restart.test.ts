import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import { parseConfig, type Config } from '../../src/config'
import { startService, type Service } from '../../src/service'
import { openPostgresStore } from '../../src/stores/postgres'
import { expectAnswersAccountForLog, expectConsistentLog, readLedgerTables, type LedgerTables } from '../support/ledger-log'
import { embedded, freshDatabase, postgresServer, type FreshDatabase, type PostgresServer } from '../support/postgres'
import { patchJson } from '../support/server'

const users = [1, 2, 3]
/** Clients sending at once. */
const clients = 4

interface Command {
  readonly key: string
  readonly user: number
  readonly type: 'CHARGE' | 'USE'
  readonly amount: number
}

/** An answer as a client sees it. */
interface Answer {
  readonly status: number
  readonly contentType: string
  readonly body: { readonly point?: number; readonly code?: string }
}

interface Sent extends Command {
  readonly answer: Answer
}

/** The run's command number `i`, with its own key: mostly charges, every fourth a use. */
const command = (i: number): Command => ({
  key: `restart-run-${i}`,
  user: users[i % users.length]!,
  type: i % 4 === 3 ? 'USE' : 'CHARGE',
  amount: 1 + (i % 9),
})

const commands = (from: number, count: number): Command[] => Array.from({ length: count }, (_, n) => command(from + n))

const answerOf = async (response: Response): Promise<Answer> => ({
  status: response.status,
  contentType: response.headers.get('content-type') ?? '',
  body: (await response.json()) as Answer['body'],
})

const fire = async (url: string, { key, user, type, amount }: Command): Promise<Answer> =>
  answerOf(await patchJson(`${url}/point/${user}/${type === 'CHARGE' ? 'charge' : 'use'}`, { amount }, { 'Idempotency-Key': key }))

/** Sends the commands a few at a time, as busy clients would; `onAnswer` is told how many are answered so far. */
async function sendAll(url: string, batch: readonly Command[], onAnswer: (answered: number) => void = () => undefined): Promise<Sent[]> {
  const sent: Sent[] = []
  let next = 0
  const client = async () => {
    for (let i = next++; i < batch.length; i = next++) {
      sent.push({ ...batch[i]!, answer: await fire(url, batch[i]!) })
      onAnswer(sent.length)
    }
  }
  await Promise.all(Array.from({ length: clients }, client))
  return sent
}

const isStoreUnavailable = (answer: Answer): boolean =>
  answer.status === 503 && /^application\/problem\+json\b/.test(answer.contentType) && answer.body.code === 'STORE_UNAVAILABLE'

/** A final answer: accepted, or refused by a rule. Anything else may be retried. */
const isFinal = (answer: Answer): boolean => answer.status === 200 || (answer.status === 409 && answer.body.code === 'INSUFFICIENT_BALANCE')

const describeAnswer = ({ key, answer }: Sent) => `${key}: ${answer.status} ${answer.contentType} ${JSON.stringify(answer.body)}`

/** Sends the command again with its key until it gets a final answer, a bounded number of times. */
async function retried(url: string, sent: Sent): Promise<Sent> {
  let last = sent
  for (let attempt = 0; attempt < 10 && !isFinal(last.answer); attempt++) last = { ...sent, answer: await fire(url, sent) }
  return last
}

/** How many requests it took until the service served a read again, or undefined if it did not within `ms`. */
async function servesAgain(url: string, ms: number): Promise<number | undefined> {
  const deadline = Date.now() + ms
  for (let tries = 1; Date.now() < deadline; tries++) {
    if ((await fetch(`${url}/point/${users[0]}`)).status === 200) return tries
  }
  return undefined
}

/** The service as `npm start` wires it on PostgreSQL, with a short connect timeout so a dead server is answered quickly. */
async function startOn(databaseUrl: string): Promise<{ service: Service; url: string }> {
  const config: Config = E.getOrElseW((error: string) => {
    throw new Error(error)
  })(parseConfig({ POINT_STORE: 'postgres', DATABASE_URL: databaseUrl, PORT: '0', PG_POOL_SIZE: '4', LOG_LEVEL: 'silent' }))
  const poolSize = config.store.kind === 'postgres' ? config.store.poolSize : undefined
  const store = await openPostgresStore(databaseUrl, { poolSize, connectTimeoutMillis: 500 })
  const service = await startService(config, pino({ level: 'silent' }), store)
  return { service, url: `http://127.0.0.1:${(service.server.address() as AddressInfo).port}` }
}

/** What the run saw, phase by phase, kept for the checks below. */
interface Run {
  /** Sent and answered while the server is down. */
  readonly whileDown: Sent[]
  readonly readsWhileDown: { readonly balance: Answer; readonly history: Answer; readonly readyz: Answer; readonly healthz: Answer }
  /** Requests until the service served again by itself; undefined if it did not. */
  readonly triesToServe: number | undefined
  readonly readyzAfter: Answer
  /** Sent once the service serves again. */
  readonly afterwards: Sent[]
  /** Every command with its first answer, before, while and after the server was down, in the order of `finals`. */
  readonly first: Sent[]
  /** Every command's last answer, after retrying those that were not final. */
  readonly finals: Sent[]
  readonly tables: LedgerTables
  readonly balances: Map<number, Answer>
}

// Only a server this run started can be stopped; a given DATABASE_URL is left alone.
if (embedded) describe('HTTP API on PostgreSQL while the server stops and starts again mid-run', function () {
  let database: FreshDatabase | undefined
  let service: Service | undefined
  let pgServer: PostgresServer
  let stopping: Promise<void> | undefined
  let starting: Promise<void> | undefined
  let run: Run

  before(async function () {
    this.timeout(20_000)
    pgServer = await postgresServer()
    const restart = pgServer.restart
    if (restart === undefined) throw new Error('the embedded server cannot be restarted')
    database = await freshDatabase()
    const started = await startOn(database.url)
    service = started.service
    const { url } = started

    const steady = await sendAll(url, commands(0, 30))
    // Stopped with commands in flight: the server ends their sessions as they run.
    const straddling = await sendAll(url, commands(30, 40), (answered) => {
      if (answered === 10) stopping = restart.down()
    })
    await stopping

    const whileDown = await sendAll(url, commands(70, 30))
    const readsWhileDown = {
      balance: await answerOf(await fetch(`${url}/point/${users[0]}`)),
      history: await answerOf(await fetch(`${url}/point/${users[0]}/histories`)),
      readyz: await answerOf(await fetch(`${url}/readyz`)),
      healthz: await answerOf(await fetch(`${url}/healthz`)),
    }

    const sentWhileStarting = sendAll(url, commands(100, 20))
    starting = restart.up()
    await starting
    const whileStarting = await sentWhileStarting

    const triesToServe = await servesAgain(url, 5_000)
    const readyzAfter = await answerOf(await fetch(`${url}/readyz`))
    const afterwards = await sendAll(url, commands(120, 40))

    const first = [...steady, ...straddling, ...whileDown, ...whileStarting, ...afterwards]
    const finals = await Promise.all(first.map((sent) => retried(url, sent)))
    const tables = await readLedgerTables(database.url)
    const balances = new Map(await Promise.all(users.map(async (user) => [user, await answerOf(await fetch(`${url}/point/${user}`))] as const)))

    run = {
      whileDown,
      readsWhileDown,
      triesToServe,
      readyzAfter,
      afterwards,
      first,
      finals,
      tables,
      balances,
    }
  })

  after(async function () {
    this.timeout(30_000)
    // A failed run must not leave the server down for the suites after this one.
    await stopping
    if (stopping !== undefined && starting === undefined) await pgServer.restart?.up()
    try {
      await service?.stop()
    } finally {
      await database?.drop()
    }
  })

  it('answers every command sent while PostgreSQL is down with 503 STORE_UNAVAILABLE problem+json', function () {
    expect(run.whileDown).to.have.lengthOf(30)
    expect(run.whileDown.filter((sent) => !isStoreUnavailable(sent.answer)).map(describeAnswer)).to.deep.equal([])
  })

  it('answers GET /point/{id} and its histories with 503 STORE_UNAVAILABLE while PostgreSQL is down', function () {
    const { balance, history } = run.readsWhileDown
    expect(isStoreUnavailable(balance), JSON.stringify(balance)).to.equal(true)
    expect(isStoreUnavailable(history), JSON.stringify(history)).to.equal(true)
  })

  it('reports not ready on /readyz (503 STORE_UNAVAILABLE) while PostgreSQL is down, alive on /healthz, and ready once it is back', function () {
    const { readyz, healthz } = run.readsWhileDown
    expect(isStoreUnavailable(readyz), JSON.stringify(readyz)).to.equal(true)
    expect(healthz).to.deep.include({ status: 200, body: { status: 'ok' } })
    expect(run.readyzAfter).to.deep.include({ status: 200, body: { status: 'ready' } })
  })

  it('answers only 200, 409 INSUFFICIENT_BALANCE or 503 STORE_UNAVAILABLE throughout, never a 500', function () {
    const answers = [...run.first, ...run.finals]
    expect(answers.filter((sent) => !isFinal(sent.answer) && !isStoreUnavailable(sent.answer)).map(describeAnswer)).to.deep.equal([])
  })

  it('serves again by itself once PostgreSQL is back, without restarting the service', function () {
    expect(run.triesToServe, 'requests until a read was served again').to.be.a('number')
    expect(run.afterwards.filter((sent) => !isFinal(sent.answer)).map(describeAnswer)).to.deep.equal([])
  })

  it('gives every command retried with its Idempotency-Key a final answer, and applies each exactly once', function () {
    expect(run.finals.filter((sent) => !isFinal(sent.answer)).map(describeAnswer)).to.deep.equal([])
    const acceptedOnRetry = run.finals.filter((sent, i) => sent.answer.status === 200 && !isFinal(run.first[i]!.answer))
    expect(acceptedOnRetry.length, 'commands accepted only when retried').to.be.at.least(run.whileDown.length / 2)
    const accepted = run.finals.filter((sent) => sent.answer.status === 200).map((sent) => ({ ...sent, point: sent.answer.body.point }))
    for (const user of users) expectAnswersAccountForLog(run.tables, user, accepted)
  })

  it('keeps each user\'s versions gap-free and the projection equal to the replay of the log', function () {
    for (const user of users) {
      expectConsistentLog(run.tables, user)
      const served = run.balances.get(user)
      expect({ status: served?.status, point: served?.body.point }, `GET /point/${user}`).to.deep.equal({
        status: 200,
        point: run.tables.balances.find((b) => b.user === user)?.point ?? 0,
      })
    }
  })
})
