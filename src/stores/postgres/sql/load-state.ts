import { initialState, type PointState } from '../../../events/decider'
import type { UserId } from '../../../events/model'
import { activeHolds, decodeRow, holdsColumn, StateRow } from '../../sql/rows'
import type { Executor } from '../pool'
import { holdsOfBalanceJson, readHolds } from './read-holds'

// The active holds come in the same statement as the row, as one JSON array: one round trip, one snapshot.
const text = `SELECT point AS balance, version, ${holdsOfBalanceJson} AS holds FROM balances b WHERE user_id = $1`

const toState = (rows: unknown[], userId: UserId): PointState => {
  if (rows.length === 0) return initialState
  const where = { table: 'balances', key: `user_id ${userId}` }
  const row = rows[0]
  const { balance, version } = decodeRow(StateRow, row, where)
  return { balance, version, ...activeHolds(holdsColumn(row, where)) }
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
