import { expect } from 'chai'
import pg from 'pg'
import { evolve, initialState, type PointState } from '../../src/events/decider'
import type { PointEvent } from '../../src/events/model'
import { replay } from '../../src/projections/balance'
import { amount, userId } from './values'

/** One row of the events table. */
export interface LoggedEvent {
  readonly user: number
  readonly version: number
  readonly type: 'CHARGE' | 'USE'
  readonly amount: number
  readonly timeMillis: number
}

/** One row of the balances table. */
export interface ProjectedBalance {
  readonly user: number
  readonly point: number
  readonly version: number
}

/** What a PostgreSQL ledger database holds, read straight from its tables. */
export interface LedgerTables {
  readonly events: readonly LoggedEvent[]
  readonly balances: readonly ProjectedBalance[]
}

/** A command the service answered 200, and the balance that answer reported (none claims no event). */
export interface AcceptedAnswer {
  readonly user: number
  readonly type: 'CHARGE' | 'USE'
  readonly amount: number
  readonly point: number | undefined
}

export async function readLedgerTables(url: string): Promise<LedgerTables> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const events = await client.query<LoggedEvent>(
      `SELECT user_id::int AS user, version, type, amount::int AS amount, time_millis::float8 AS "timeMillis"
       FROM events ORDER BY user_id, version`,
    )
    const balances = await client.query<ProjectedBalance>('SELECT user_id::int AS user, point::int AS point, version FROM balances ORDER BY user_id')
    return { events: events.rows, balances: balances.rows }
  } finally {
    await client.end()
  }
}

const pointEvent = (e: LoggedEvent): PointEvent => ({ type: e.type, userId: userId(e.user), amount: amount(e.amount), timeMillis: e.timeMillis })

const logOf = (tables: LedgerTables, user: number): PointEvent[] => tables.events.filter((e) => e.user === user).map(pointEvent)

/** The user's balance right after each of their events: the fold of the log up to it. */
export const runningBalances = (tables: LedgerTables, user: number): number[] =>
  logOf(tables, user)
    .reduce<PointState[]>((states, e) => [...states, evolve(states.at(-1) ?? initialState, e)], [])
    .map((state) => state.balance)

/** The user's versions run 1..n without a gap, and their projection row is the replay of their log. */
export function expectConsistentLog(tables: LedgerTables, user: number): void {
  const versions = tables.events.filter((e) => e.user === user).map((e) => e.version)
  expect(versions, `user ${user}'s versions`).to.deep.equal(versions.map((_, i) => i + 1))
  const row = tables.balances.find((b) => b.user === user)
  const projected = row === undefined ? initialState : { balance: row.point, version: row.version }
  expect(projected, `user ${user}'s projection`).to.deep.equal(replay(logOf(tables, user)))
}

/**
 * Each accepted answer claims one event of the same kind and amount whose running balance it reports:
 * together they account for the whole log, so every 200 is in it once and no other answer left a trace.
 */
export function expectAnswersAccountForLog(tables: LedgerTables, user: number, accepted: readonly AcceptedAnswer[]): void {
  const after = runningBalances(tables, user)
  const unclaimed = logOf(tables, user).map((e, i) => `${e.type} ${e.amount} → ${after[i]}`)
  for (const answer of accepted.filter((a) => a.user === user)) {
    const at = unclaimed.indexOf(`${answer.type} ${answer.amount} → ${answer.point}`)
    expect(at, `answer ${answer.type} ${answer.amount} → ${answer.point} for user ${user}`).to.be.at.least(0)
    unclaimed.splice(at, 1)
  }
  expect(unclaimed, `user ${user}'s events no answer claims`).to.deep.equal([])
}
