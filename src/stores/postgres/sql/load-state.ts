import * as t from 'io-ts'
import { initialState, type PointState } from '../../../events/decider'
import type { UserId } from '../../../events/model'
import { activeHolds, decodeRow, StateRow, toStoredHold } from '../../sql/rows'
import type { Executor } from '../pool'

// The active holds come in the same statement as the row, as one JSON array: one round trip, one snapshot.
const text = `SELECT point AS balance, version,
    (SELECT json_agg(json_build_object('holdId', h.hold_id, 'amount', h.amount, 'expiresAt', h.expires_millis, 'placedAt', h.placed_millis)
       ORDER BY h.hold_id) FROM holds h WHERE h.user_id = b.user_id) AS holds
  FROM balances b WHERE user_id = $1`

const Holds = t.union([t.null, t.array(t.unknown)])

const toState = (rows: unknown[], userId: UserId): PointState => {
  if (rows.length === 0) return initialState
  const where = { table: 'balances', key: `user_id ${userId}` }
  const row = rows[0] as { holds?: unknown }
  const holds = decodeRow(Holds, row.holds, where) ?? []
  return { ...decodeRow(StateRow, row, where), ...activeHolds(holds.map(toStoredHold)) }
}

/** A user's balance, version and active holds, the writer's starting state. A named statement: each connection plans it once. */
export async function loadState(db: Executor, userId: UserId): Promise<PointState> {
  const { rows } = await db.query({ name: 'load', text, values: [userId] })
  return toState(rows, userId)
}

/** The same under the row's lock, held until the transaction ends: a rival's claim on the row waits. */
export async function lockState(db: Executor, userId: UserId): Promise<PointState> {
  const { rows } = await db.query({ name: 'load-locked', text: `${text} FOR UPDATE OF b`, values: [userId] })
  return toState(rows, userId)
}
