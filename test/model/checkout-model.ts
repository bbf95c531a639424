import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import type { Config } from '../../src/config'
import type { Limits } from '../../src/events/decider'
import { HoldSweeper } from '../../src/events/hold-sweeper'
import { runAudit, type AuditSource } from '../../src/projections/audit-run'
import { patchJson, type TestServer } from '../support/server'

// Two active holds at most, so runs reach the cap.
export const checkoutLimits: Limits = { maxAmount: 60, maxBalance: 150, maxHoldTtlMillis: 100_000, defaultHoldTtlMillis: 30_000, maxActiveHolds: 2 }

/**
 * How the service under the model is configured. Its own sweeper never fires during a suite: `Sweep` is the only
 * one. A hold's id is the user's log version, so an EXPIRE written by the service's timer (every second of wall
 * time) between a `Tick` and the next `Sweep` would put every later hold id of that user one past the model's and
 * fail the next capture, release or hold listing; shrinking such a failure outlasted the suite's timeout, hiding it.
 * 2^31 - 1 ms is the longest interval a timer takes (Node fires a longer one after 1 ms).
 */
export const checkoutServeConfig: Partial<Config> = { limits: checkoutLimits, holdSweepIntervalMs: 2 ** 31 - 1 }

interface Hold {
  readonly amount: number
  readonly expiresAt: number
  ended: boolean
}

/** One user as the rules see them: balance, version, uses by history id, holds by id. */
interface Account {
  balance: number
  version: number
  movements: number
  readonly uses: Map<number, { amount: number; refunded: number }>
  readonly holds: Map<number, Hold>
}

/** The plain model: every user's account, and the clock the service reads. */
export interface CheckoutModel {
  readonly accounts: Map<number, Account>
  now: number
}

export interface CheckoutReal {
  readonly server: TestServer
  readonly store: AuditSource
  readonly user: (n: number) => number
  readonly key: () => string
  /** Moves the service's clock. */
  readonly setNow: (now: number) => void
}

const account = (m: CheckoutModel, user: number): Account => {
  let found = m.accounts.get(user)
  if (found === undefined) {
    found = { balance: 0, version: 0, movements: 0, uses: new Map(), holds: new Map() }
    m.accounts.set(user, found)
  }
  return found
}

const heldOf = (a: Account, now: number): number =>
  [...a.holds.values()].reduce((sum, h) => (!h.ended && h.expiresAt > now ? sum + h.amount : sum), 0)

type Expected = { status: 200; apply: () => void } | { status: number; code: string }

const refused = (status: number, code: string): Expected => ({ status, code })

interface Step {
  /** An accepted use: its history id is read back, so that refunds can name it. */
  readonly learnsUse?: boolean
  readonly path: (r: CheckoutReal) => string
  readonly body?: unknown
  readonly expect: (m: CheckoutModel) => Expected
  readonly label: string
}

/** A command sent over HTTP, its answer checked against the model's, keyed or not (a keyed one is retried once). */
class Send implements fc.AsyncCommand<CheckoutModel, CheckoutReal> {
  constructor(
    private readonly user: number,
    private readonly step: (m: Readonly<CheckoutModel>, user: number) => Step,
    private readonly keyed: boolean,
  ) {}
  private label = ''
  check = () => true
  async run(m: CheckoutModel, r: CheckoutReal): Promise<void> {
    const step = this.step(m, this.user)
    this.label = step.label
    const expected = step.expect(m)
    const headers: Record<string, string> = this.keyed ? { 'Idempotency-Key': r.key() } : {}
    const url = `${r.server.url}${step.path(r)}`
    const response = await patchJson(url, step.body ?? {}, headers)
    const body = (await response.json()) as Record<string, unknown>
    expect(response.status, `${step.label}: ${JSON.stringify(body)}`).to.equal(expected.status)
    if (this.keyed) {
      const again = await patchJson(url, step.body ?? {}, headers)
      expect(await again.json(), `${step.label} retried`).to.deep.equal(body)
    }
    if (!('apply' in expected)) return void expect(body['code'], step.label).to.equal(expected.code)
    expected.apply()
    const a = account(m, this.user)
    const held = heldOf(a, m.now)
    expect(body, step.label).to.include({ point: a.balance, held, available: a.balance - held })
    if (step.learnsUse === true) await learnUses(m, r, this.user)
  }
  toString = () => `${this.keyed ? 'keyed ' : ''}${this.label || 'send'}(user ${this.user})`
}

const accept = (a: Account, apply: () => void, moves = true): Expected => ({
  status: 200,
  apply: () => {
    apply()
    a.version++
    if (moves) a.movements++
  },
})

const charge = (n: number) => (m: Readonly<CheckoutModel>, user: number): Step => ({
  label: `charge ${n}`,
  path: (r) => `/point/${r.user(user)}/charge`,
  body: { amount: n },
  expect: (model) => {
    const a = account(model, user)
    if (n > checkoutLimits.maxAmount) return refused(400, 'AMOUNT_LIMIT_EXCEEDED')
    if (a.balance + n > checkoutLimits.maxBalance) return refused(409, 'BALANCE_LIMIT_EXCEEDED')
    return accept(a, () => void (a.balance += n))
  },
})

const use = (n: number) => (m: Readonly<CheckoutModel>, user: number): Step => ({
  label: `use ${n}`,
  learnsUse: true,
  path: (r) => `/point/${r.user(user)}/use`,
  body: { amount: n },
  expect: (model) => {
    const a = account(model, user)
    if (n > checkoutLimits.maxAmount) return refused(400, 'AMOUNT_LIMIT_EXCEEDED')
    if (a.balance - heldOf(a, model.now) < n) return refused(409, 'INSUFFICIENT_BALANCE')
    // The use's history id is learnt from the history, read back in `LearnUses`.
    return accept(a, () => void (a.balance -= n))
  },
})

const refund = (pick: number, n: number) => (m: Readonly<CheckoutModel>, user: number): Step => {
  const uses = [...account(m, user).uses.keys()]
  // No use known yet: a made-up id, which must be refused.
  const useId = uses.length === 0 ? 9_000_000_000 + pick : uses[pick % uses.length]!
  return {
    label: `refund ${n} of ${useId}`,
    path: (r) => `/point/${r.user(user)}/refund`,
    body: { useId, amount: n },
    expect: (model) => {
      const a = account(model, user)
      if (n > checkoutLimits.maxAmount) return refused(400, 'AMOUNT_LIMIT_EXCEEDED')
      const found = a.uses.get(useId)
      if (found === undefined) return refused(404, 'USE_NOT_FOUND')
      if (found.refunded + n > found.amount) return refused(409, 'REFUND_EXCEEDS_USE')
      return accept(a, () => {
        a.balance += n
        found.refunded += n
      })
    },
  }
}

const hold = (n: number, ttlSeconds: number) => (m: Readonly<CheckoutModel>, user: number): Step => ({
  label: `hold ${n} for ${ttlSeconds} s`,
  path: (r) => `/point/${r.user(user)}/hold`,
  body: { amount: n, ttlSeconds },
  expect: (model) => {
    const a = account(model, user)
    if (n > checkoutLimits.maxAmount) return refused(400, 'AMOUNT_LIMIT_EXCEEDED')
    if (ttlSeconds * 1000 > checkoutLimits.maxHoldTtlMillis!) return refused(400, 'HOLD_TTL_EXCEEDED')
    const active = [...a.holds.values()].filter((h) => !h.ended && h.expiresAt > model.now).length
    if (active >= checkoutLimits.maxActiveHolds!) return refused(409, 'TOO_MANY_HOLDS')
    if (a.balance - heldOf(a, model.now) < n) return refused(409, 'INSUFFICIENT_BALANCE')
    return accept(a, () => void a.holds.set(a.version + 1, { amount: n, expiresAt: model.now + ttlSeconds * 1000, ended: false }), false)
  },
})

/** Resolves a hold the model knows of (or a made-up one): capture of all or part, or release. */
const resolve = (how: 'capture' | 'release', pick: number, n?: number) => (m: Readonly<CheckoutModel>, user: number): Step => {
  const ids = [...account(m, user).holds.keys()]
  const holdId = ids.length === 0 ? 1_000 + pick : ids[pick % ids.length]!
  return {
    label: `${how} ${n ?? 'all'} of hold ${holdId}`,
    path: (r) => `/point/${r.user(user)}/holds/${holdId}/${how}`,
    ...(how === 'capture' ? { body: n === undefined ? {} : { amount: n } } : {}),
    expect: (model) => {
      const a = account(model, user)
      if (n !== undefined && n > checkoutLimits.maxAmount) return refused(400, 'AMOUNT_LIMIT_EXCEEDED')
      const found = a.holds.get(holdId)
      if (found === undefined) return refused(404, 'HOLD_NOT_FOUND')
      if (found.ended || found.expiresAt <= model.now) return refused(409, 'HOLD_ALREADY_RESOLVED')
      const taken = n ?? found.amount
      if (how === 'capture' && taken > found.amount) return refused(409, 'CAPTURE_EXCEEDS_HOLD')
      return accept(
        a,
        () => {
          found.ended = true
          if (how === 'capture') a.balance -= taken
        },
        how === 'capture',
      )
    },
  }
}

/** Reads the user's history: its movements match the model, and it names the uses refunds may pick. */
async function learnUses(m: CheckoutModel, r: CheckoutReal, user: number): Promise<void> {
  const rows = (await (await fetch(`${r.server.url}/point/${r.user(user)}/histories`)).json()) as Array<{ id: number; type: string; amount: number }>
  const a = account(m, user)
  expect(rows).to.have.length(a.movements)
  const signed = rows.reduce((sum, row) => sum + (row.type === 'CHARGE' || row.type === 'REFUND' ? row.amount : -row.amount), 0)
  expect(signed).to.equal(a.balance)
  for (const row of rows) if (row.type === 'USE' && !a.uses.has(row.id)) a.uses.set(row.id, { amount: row.amount, refunded: 0 })
}

class LearnUses implements fc.AsyncCommand<CheckoutModel, CheckoutReal> {
  constructor(private readonly user: number) {}
  check = () => true
  run(m: CheckoutModel, r: CheckoutReal): Promise<void> {
    return learnUses(m, r, this.user)
  }
  toString = () => `history(user ${this.user})`
}

class GetBalance implements fc.AsyncCommand<CheckoutModel, CheckoutReal> {
  constructor(private readonly user: number) {}
  check = () => true
  async run(m: CheckoutModel, r: CheckoutReal): Promise<void> {
    const body = (await (await fetch(`${r.server.url}/point/${r.user(this.user)}`)).json()) as Record<string, unknown>
    const a = account(m, this.user)
    const held = heldOf(a, m.now)
    expect(body).to.include({ point: a.balance, held, available: a.balance - held })
    const listed = (await (await fetch(`${r.server.url}/point/${r.user(this.user)}/holds`)).json()) as Array<{ holdId: number }>
    const active = [...a.holds].filter(([, h]) => !h.ended && h.expiresAt > m.now).map(([id]) => id)
    expect(listed.map((h) => h.holdId)).to.deep.equal(active)
  }
  toString = () => `balance(user ${this.user})`
}

/** The clock steps forward, often past expiries. */
class Tick implements fc.AsyncCommand<CheckoutModel, CheckoutReal> {
  constructor(private readonly millis: number) {}
  check = () => true
  run(m: CheckoutModel, r: CheckoutReal): Promise<void> {
    m.now += this.millis
    r.setNow(m.now)
    return Promise.resolve()
  }
  toString = () => `tick(${this.millis} ms)`
}

/** The sweeper records every due hold's expiry: each ends, once. */
class Sweep implements fc.AsyncCommand<CheckoutModel, CheckoutReal> {
  check = () => true
  async run(m: CheckoutModel, r: CheckoutReal): Promise<void> {
    await new HoldSweeper(r.store as never, r.server.service.ledger.expire, { clock: () => m.now }).pass()
    for (const a of m.accounts.values()) {
      for (const h of a.holds.values()) {
        if (!h.ended && h.expiresAt <= m.now) {
          h.ended = true
          a.version++
        }
      }
    }
  }
  toString = () => 'sweep()'
}

class Audit implements fc.AsyncCommand<CheckoutModel, CheckoutReal> {
  check = () => true
  async run(_m: CheckoutModel, r: CheckoutReal): Promise<void> {
    const report = await runAudit(r.store, checkoutLimits)()
    expect(E.isRight(report) && report.right.findings).to.deep.equal([])
  }
  toString = () => 'audit()'
}

const user = fc.integer({ min: 1, max: 2 })
const amount = fc.integer({ min: 1, max: 70 })
const pick = fc.nat({ max: 5 })
const keyed = fc.boolean()

export const checkoutCommands = fc.commands(
  [
    // Charges twice as often as anything else, so there are points to use, refund and hold.
    fc.tuple(user, amount, keyed).map(([u, n, k]) => new Send(u, charge(n), k)),
    fc.tuple(user, amount, keyed).map(([u, n, k]) => new Send(u, charge(n), k)),
    fc.tuple(user, fc.integer({ min: 1, max: 40 }), keyed).map(([u, n, k]) => new Send(u, use(n), k)),
    fc.tuple(user, pick, fc.integer({ min: 1, max: 40 }), keyed).map(([u, p, n, k]) => new Send(u, refund(p, n), k)),
    // Now and then over the amount limit or the longest ttl.
    fc.tuple(user, fc.integer({ min: 1, max: 62 }), fc.integer({ min: 1, max: 102 }), keyed).map(([u, n, s, k]) => new Send(u, hold(n, s), k)),
    fc.tuple(user, fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 90 }), keyed).map(([u, n, s, k]) => new Send(u, hold(n, s), k)),
    // Small ones, so a user's active holds reach the cap before their points run out.
    fc.tuple(user, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 90 }), keyed).map(([u, n, s, k]) => new Send(u, hold(n, s), k)),
    fc.tuple(user, pick, fc.option(amount, { nil: undefined }), keyed).map(([u, p, n, k]) => new Send(u, resolve('capture', p, n), k)),
    fc.tuple(user, pick, keyed).map(([u, p, k]) => new Send(u, resolve('release', p), k)),
    user.map((u) => new LearnUses(u)),
    user.map((u) => new GetBalance(u)),
    fc.integer({ min: 1, max: 60_000 }).map((ms) => new Tick(ms)),
    fc.constant(new Sweep()),
    fc.constant(new Audit()),
  ],
  // Long enough runs that holds are placed, expire, get swept and resolved in one run.
  { maxCommands: 40, size: 'max' },
)

export const emptyCheckoutModel = (now: number): CheckoutModel => ({ accounts: new Map(), now })
