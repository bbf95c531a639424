import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import type { Limits } from '../../src/events/decider'
import type { PointStore } from '../../src/events/store'
import { runAudit, type AuditSource } from '../../src/projections/audit-run'
import { delegating } from '../../src/stores/delegating'
import { patchJson, serveFixture, startTestServer, type TestServer } from '../support/server'
import type { StoreFixture } from '../stores/contract'
import { checkoutCommands, checkoutLimits, checkoutServeConfig, emptyCheckoutModel, type CheckoutReal } from './checkout-model'

const limits: Limits = { maxAmount: 60, maxBalance: 150 }

/** The plain model: each user's balance and how many events their log should hold. */
interface Model {
  readonly balances: Map<number, number>
  readonly events: Map<number, number>
}

interface Real {
  readonly server: TestServer
  /** Every instance, the first being `server`: commands go to one of them, so one instance's cached states go stale. */
  readonly instances: readonly TestServer[]
  readonly store: AuditSource
  /** Each run uses its own users, so every run starts from an empty model. */
  readonly user: (n: number) => number
  /** A key never used before. */
  readonly key: () => string
}

/**
 * fast-check stops this long before the describe's timeout and reports what it has: a failure found late then
 * comes with its seed, path and the counterexample shrunk so far, not as a bare mocha timeout (shrinking runs of
 * up to 40 commands, each followed by an audit, easily takes minutes). Running out of time is still a failure.
 */
const stopBefore = (timeoutMillis: number) => ({ plugins: [fc.interruptAfterTimeLimit(timeoutMillis - 30_000, { failOnInterrupt: true })] })

const balanceOf = (m: Model, user: number) => m.balances.get(user) ?? 0

/** What the rules say a command should answer, and the model after it. */
function expectation(m: Model, kind: 'charge' | 'use', user: number, amount: number) {
  const balance = balanceOf(m, user)
  if (amount > limits.maxAmount) return { status: 400, code: 'AMOUNT_LIMIT_EXCEEDED' }
  if (kind === 'use' && balance < amount) return { status: 409, code: 'INSUFFICIENT_BALANCE' }
  if (kind === 'charge' && balance + amount > limits.maxBalance) return { status: 409, code: 'BALANCE_LIMIT_EXCEEDED' }
  return { status: 200, point: kind === 'charge' ? balance + amount : balance - amount }
}

function apply(m: Model, user: number, point: number): void {
  m.balances.set(user, point)
  m.events.set(user, (m.events.get(user) ?? 0) + 1)
}

/** A charge or use; `amount` may depend on the model, to land exactly on a limit. */
class Send implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly kind: 'charge' | 'use',
    readonly user: number,
    readonly amount: number | ((balance: number) => number),
    private readonly label = String(amount),
    readonly via = 0,
  ) {}
  check = (m: Readonly<Model>) => this.amountFor(m) > 0
  private amountFor(m: Readonly<Model>): number {
    return typeof this.amount === 'number' ? this.amount : this.amount(balanceOf(m, this.user))
  }
  async run(m: Model, r: Real): Promise<void> {
    const amount = this.amountFor(m)
    const expected = expectation(m, this.kind, this.user, amount)
    const response = await patchJson(`${instance(r, this.via).url}/point/${r.user(this.user)}/${this.kind}`, { amount })
    const body = (await response.json()) as Record<string, unknown>
    expect(response.status).to.equal(expected.status)
    if (expected.point === undefined) return void expect(body['code']).to.equal(expected.code)
    expect(body['point']).to.equal(expected.point)
    apply(m, this.user, expected.point)
  }
  toString = () => `${this.kind}(user ${this.user}, ${this.label}, via ${this.via})`
}

/** The instance a command goes to: with one instance, always that one. */
const instance = (r: Real, via: number): TestServer => r.instances[via % r.instances.length]!

/** A keyed command sent twice, as a client retrying after a timeout would: it applies once, answered alike. */
class Retry implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly kind: 'charge' | 'use',
    readonly user: number,
    readonly amount: number,
    readonly via = 0,
  ) {}
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    const expected = expectation(m, this.kind, this.user, this.amount)
    const path = `/point/${r.user(this.user)}/${this.kind}`
    const headers = { 'Idempotency-Key': r.key() }
    const first = await patchJson(`${instance(r, this.via).url}${path}`, { amount: this.amount }, headers)
    const firstBody = (await first.json()) as Record<string, unknown>
    // The retry may reach another instance, as behind a load balancer.
    const again = await patchJson(`${instance(r, this.via + 1).url}${path}`, { amount: this.amount }, headers)
    expect(again.status).to.equal(first.status)
    expect(again.headers.get('idempotency-replayed')).to.equal('true')
    expect(await again.json()).to.deep.equal(firstBody)
    expect(first.status).to.equal(expected.status)
    if (expected.point === undefined) return void expect(firstBody['code']).to.equal(expected.code)
    expect(firstBody['point']).to.equal(expected.point)
    apply(m, this.user, expected.point)
  }
  toString = () => `retry ${this.kind}(user ${this.user}, ${this.amount}, via ${this.via})`
}

class GetBalance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly user: number) {}
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    const body = (await (await fetch(`${r.server.url}/point/${r.user(this.user)}`)).json()) as Record<string, unknown>
    expect(body['point']).to.equal(balanceOf(m, this.user))
  }
  toString = () => `balance(user ${this.user})`
}

class GetHistory implements fc.AsyncCommand<Model, Real> {
  constructor(readonly user: number) {}
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    const rows = (await (await fetch(`${r.server.url}/point/${r.user(this.user)}/histories`)).json()) as Array<{
      type: string
      amount: number
    }>
    expect(rows).to.have.length(m.events.get(this.user) ?? 0)
    const replayed = rows.reduce((sum, row) => sum + (row.type === 'CHARGE' ? row.amount : -row.amount), 0)
    expect(replayed).to.equal(balanceOf(m, this.user))
  }
  toString = () => `history(user ${this.user})`
}

class Audit implements fc.AsyncCommand<Model, Real> {
  check = () => true
  async run(_m: Model, r: Real): Promise<void> {
    const report = await runAudit(r.store, limits)()
    expect(E.isRight(report) && report.right.findings).to.deep.equal([])
  }
  toString = () => 'audit()'
}

const user = fc.integer({ min: 1, max: 3 })
const via = fc.integer({ min: 0, max: 1 })
const commands = fc.commands(
  [
    fc.tuple(user, fc.integer({ min: 1, max: 70 }), via).map(([u, n, i]) => new Send('charge', u, n, String(n), i)),
    fc.tuple(user, fc.integer({ min: 1, max: 70 }), via).map(([u, n, i]) => new Send('use', u, n, String(n), i)),
    // Exactly to a limit, and one past it.
    fc.tuple(user, fc.integer({ min: 0, max: 1 }), via).map(([u, d, i]) => new Send('use', u, (b) => b + d, `balance+${d}`, i)),
    fc.tuple(user, fc.integer({ min: 0, max: 1 }), via).map(
      ([u, d, i]) => new Send('charge', u, (b) => limits.maxBalance - b + d, `room+${d}`, i),
    ),
    fc.tuple(fc.constantFrom('charge' as const, 'use' as const), user, fc.integer({ min: 1, max: 70 }), via).map(
      ([kind, u, n, i]) => new Retry(kind, u, n, i),
    ),
    user.map((u) => new GetBalance(u)),
    user.map((u) => new GetHistory(u)),
    fc.constant(new Audit()),
  ],
  { maxCommands: 20 },
)

/**
 * Model-based check of a store behind the real HTTP service: the model (a Map
 * of balances) and the system agree on every answer, and the audit passes.
 * A fixture with a `twin` (a second store on the same database) is served by a
 * second instance too, and commands go to either, so each instance's cache of
 * decided states goes stale whenever the other writes.
 * On failure fast-check prints the seed and the path that replays it.
 */
export function modelSuite(name: string, fixture: () => Promise<StoreFixture & { store: AuditSource; twin?: PointStore }>): void {
  describe(`model-based invariants: ${name}`, function () {
    const timeoutMillis = 120_000
    this.timeout(timeoutMillis)
    let twinStore: PointStore | undefined
    const served = serveFixture(async () => {
      const opened = await fixture()
      twinStore = opened.twin
      return opened
    }, { limits })
    let twin: TestServer | undefined
    before(async function () {
      if (twinStore !== undefined) twin = await startTestServer({ store: delegating(twinStore, { close: () => Promise.resolve() }), config: { limits } })
    })
    after(async function () {
      await twin?.close()
    })
    let run = 0

    it('agrees with a plain model on every answer, and the audit passes after every run', async function () {
      await fc.assert(
        fc.asyncProperty(commands, async (cmds) => {
          const base = ++run * 10
          let keys = 0
          const { server, store } = served
          const instances = twin === undefined ? [server] : [server, twin]
          const real: Real = { server, instances, store, user: (n) => base + n, key: () => `run-${base}-${++keys}` }
          await fc.asyncModelRun(() => ({ model: { balances: new Map(), events: new Map() }, real }), cmds)
          await new Audit().run({ balances: new Map(), events: new Map() }, real)
        }),
        { numRuns: 25, ...stopBefore(timeoutMillis) },
      )
    })
  })

  describe(`model-based invariants with refunds and holds: ${name}`, function () {
    const timeoutMillis = 180_000
    this.timeout(timeoutMillis)
    let now = 1_800_000_000_000
    const served = serveFixture(fixture, checkoutServeConfig, () => now)
    let run = 0

    it('agrees with a plain model on every answer, with clock steps past expiries and sweeps, and the audit passes after every run', async function () {
      await fc.assert(
        fc.asyncProperty(checkoutCommands, async (cmds) => {
          const base = ++run * 10
          let keys = 0
          const { server, store } = served
          const real: CheckoutReal = { server, store, user: (n) => base + n, key: () => `checkout-${base}-${++keys}`, setNow: (at) => void (now = at) }
          await fc.asyncModelRun(() => ({ model: emptyCheckoutModel(now), real }), cmds)
          const report = await runAudit(store, checkoutLimits)()
          expect(E.isRight(report) && report.right.findings).to.deep.equal([])
        }),
        { numRuns: 25, ...stopBefore(timeoutMillis) },
      )
    })
  })
}
