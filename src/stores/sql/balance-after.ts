import { delta } from '../../events/decider'
import type { Plan } from '../../events/store'

/**
 * The balance the plan was decided on, counted back from the one it leads to. An append checks that the user's row
 * (PostgreSQL's projection row, SQLite's last event) still holds it, with the version: a row changed behind the
 * writers' backs (a hand edit, a rebuilt projection) is then refused like a lost race, and read again, instead of
 * being built on from a state remembered from before.
 */
export function balanceBefore({ events, projection }: Plan): number {
  let balance = projection.balance
  for (const event of events) balance -= delta(event)
  return balance
}

/**
 * The balance right after each of a plan's events, stored with the event so that a point-in-time read is one
 * row. Counted back from the balance the plan leads to, so the log's column and the projection always agree.
 */
export function balancesAfter({ events, projection }: Plan): number[] {
  const after: number[] = new Array<number>(events.length)
  let balance = projection.balance
  for (let i = events.length - 1; i >= 0; i--) {
    after[i] = balance
    balance -= delta(events[i]!)
  }
  return after
}
