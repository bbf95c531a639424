import { delta } from '../../events/decider'
import type { Plan } from '../../events/store'

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
