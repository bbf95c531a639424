import * as E from 'fp-ts/Either'
import { initialState, type PointState } from '../../../events/decider'
import type { UserId } from '../../../events/model'
import type { StoreFault } from '../../../events/store'
import { activeHolds, decodeRow, holdsColumn, StateRow, storeFault } from '../../sql/rows'
import type { Executor } from '../pool'
import { holdsOfBalanceJson, readHolds } from './read-holds'

// The active holds come in the same statement as the row, as one JSON array: one round trip, one snapshot.
const text = `SELECT b.user_id AS "userId", point AS balance, version, ${holdsOfBalanceJson} AS holds FROM balances b WHERE user_id = ANY($1::bigint[])`

const toState = (row: unknown, userId: UserId): PointState => {
  const where = { table: 'balances', key: `user_id ${userId}` }
  const { balance, version } = decodeRow(StateRow, row, where)
  return { balance, version, ...activeHolds(holdsColumn(row, where)) }
}

/**
 * Users' balances, versions and active holds, the writers' starting states, in one statement for however many
 * users: after a turn in which another instance moved many of them, their writers read again together. A user
 * with no row is at the initial state; a row that does not decode fails its own user only. A named statement:
 * each connection plans it once.
 */
export async function loadStates(db: Executor, userIds: readonly UserId[]): Promise<Array<E.Either<StoreFault, PointState>>> {
  const { rows } = await db.query<{ userId: unknown }>({ name: 'load', text, values: [userIds] })
  const found = new Map<unknown, unknown>(rows.map((row) => [row.userId, row]))
  return userIds.map((userId) => {
    const row = found.get(userId)
    return row === undefined ? E.right(initialState) : E.tryCatch(() => toState(row, userId), storeFault)
  })
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
