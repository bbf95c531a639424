import { initialState, type PointState } from '../../../events/decider'
import type { UserId } from '../../../events/model'
import { decodeRow, StateRow } from '../../sql/rows'
import type { Executor } from '../pool'

const text = 'SELECT point AS balance, version FROM balances WHERE user_id = $1'

/** A user's balance and version, the writer's starting state. A named statement: each connection plans it once. */
export async function loadState(db: Executor, userId: UserId): Promise<PointState> {
  const { rows } = await db.query({ name: 'load', text, values: [userId] })
  return rows.length === 0 ? initialState : decodeRow(StateRow, rows[0], { table: 'balances', key: `user_id ${userId}` })
}

/** The same under the row's lock, held until the transaction ends: a rival's claim on the row waits. */
export async function lockState(db: Executor, userId: UserId): Promise<PointState> {
  const { rows } = await db.query({ name: 'load-locked', text: `${text} FOR UPDATE`, values: [userId] })
  return rows.length === 0 ? initialState : decodeRow(StateRow, rows[0], { table: 'balances', key: `user_id ${userId}` })
}
