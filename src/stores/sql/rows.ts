import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as t from 'io-ts'
import { IdempotencyKey, RejectionCode, UserId, type Amount, type UserPoint } from '../../events/model'
import { versionConflict, type Plan, type Receipt, type StoreFault } from '../../events/store'
import type { LogEntry } from '../../projections/audit'

/** One step of a schema, never edited once released: a change is a new step. */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

/** What a SQL store is told after each committed transaction: how many appends it held, how long it took. */
export interface Commit {
  readonly appends: number
  readonly millis: number
}

/** One writer's append, waiting for the transaction it will share with others. */
export interface AppendJob {
  readonly userId: UserId
  readonly expectedVersion: number
  readonly plan: Plan
}

export type Appended = E.Either<StoreFault, UserPoint>

/** The answer to a job its transaction committed: the balance its plan leads to, at the commit's time. */
export const accepted = ({ userId, plan }: AppendJob, updateMillis: number): Appended =>
  E.right({ id: userId, point: plan.projection.balance, updateMillis })

/** The answer to a job whose user moved past its expected version, or whose key another writer took first. */
export const conflicted = ({ userId, expectedVersion }: AppendJob): Appended => E.left(versionConflict(userId, expectedVersion))

/** Rows an audit reads per query: large enough to amortise the call, small enough to keep memory flat. */
export const scanPage = 16_384

/**
 * A log row as an audit scans it. The query returns the signed amount as one integer (charges positive):
 * reading the type as text costs a third of the scan.
 */
export const signedEntry = (id: number, userId: UserId, version: number, signed: number, balanceAfter: number, timeMillis: number): LogEntry => ({
  id,
  userId,
  version,
  type: signed > 0 ? 'CHARGE' : 'USE',
  amount: Math.abs(signed) as Amount,
  balanceAfter,
  timeMillis,
})

export const StateRow = t.type({ balance: t.number, version: t.number })

/** A receipt's answer as stored: an accepted one's time is the row's `update_millis`. */
const StoredOutcome = t.union([
  t.type({ _tag: t.literal('Accepted'), point: t.number }),
  t.type({ _tag: t.literal('Rejection'), code: RejectionCode, detail: t.string }),
])

/** SQLite keeps the outcome as JSON text, PostgreSQL as JSONB, which the driver parses. */
const ReceiptRow = t.type({
  key: IdempotencyKey,
  userId: UserId,
  fingerprint: t.string,
  outcome: t.union([t.string, t.UnknownRecord]),
  updateMillis: t.number,
})

export function toReceipt(row: unknown): Receipt {
  const { outcome, updateMillis, ...rest } = decodeRow(ReceiptRow, row)
  const answer = decodeRow(StoredOutcome, typeof outcome === 'string' ? JSON.parse(outcome) : outcome)
  return { ...rest, outcome: answer._tag === 'Accepted' ? { ...answer, updateMillis } : answer }
}

/** Rows are checked on the way out: a table edited by hand must not leak bad values past the store. */
export function decodeRow<A>(codec: t.Decoder<unknown, A>, row: unknown): A {
  return pipe(
    codec.decode(row),
    E.getOrElseW(() => {
      throw new Error(`a row does not match ${codec.name}: ${JSON.stringify(row)}`)
    }),
  )
}
