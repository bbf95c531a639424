import * as t from 'io-ts'
import { initialState, type PointState } from '../../../events/decider'
import type { UserId } from '../../../events/model'
import { activeHolds, decodeRow, StateRow, toStoredHold } from '../../sql/rows'
import type { Executor } from '../pool'
import { readHolds } from './read-holds'

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
  const { balance, version } = decodeRow(StateRow, row, where)
  return { balance, version, ...activeHolds(holds.map(toStoredHold)) }
}

/** A user's balance, version and active holds, the writer's starting state. A named statement: each connection plans it once. */
export async function loadState(db: Executor, userId: UserId): Promise<PointState> {
  const { rows } = await db.query({ name: 'load', text, values: [userId] })
  return toState(rows, userId)
}

const lockText = 'SELECT point AS balance, version FROM balances WHERE user_id = $1 FOR UPDATE'

/**
 * The same under the row's lock, held until the transaction ends: a rival's claim on the row waits. The holds are
 * read by a second statement, once the lock is held: a row locked after waiting for a rival's commit comes back as
 * that commit left it, but a subquery of the same statement would still see the holds from before it.
 */
export async function lockState(db: Executor, userId: UserId): Promise<PointState> {
  const { rows } = await db.query({ name: 'load-locked', text: lockText, values: [userId] })
  if (rows.length === 0) return initialState
  const state = decodeRow(StateRow, rows[0], { table: 'balances', key: `user_id ${userId}` })
  return { ...state, ...activeHolds(await readHolds(db, userId)) }
}
