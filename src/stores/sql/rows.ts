import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as t from 'io-ts'
import type { ActiveHold, References } from '../../events/decider'
import { Amount, IdempotencyKey, RejectionCode, StoredEvent, UserId, type UserPoint } from '../../events/model'
import { storeCorrupt, storeUnavailable, versionConflict, type BalanceWithHolds, type Plan, type Receipt, type StoredHold, type StoreFault } from '../../events/store'
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
 * reading the type as text costs a third of the scan. A row that is not a valid event (its type unknown, its
 * amount not a positive integer) comes with `invalid` saying so, and its signed amount is then meaningless.
 */
export const signedEntry = (
  id: number,
  userId: UserId,
  version: number,
  signed: number,
  balanceAfter: number,
  timeMillis: number,
  invalid?: string | null,
  type?: string | null,
  ref?: number | null,
  expiresAt?: number | null,
  useAmount?: number | null,
): LogEntry => ({
  id,
  userId,
  version,
  // A type the query names is one of the newer ones, valid unless `invalid` says otherwise.
  type: type == null ? (signed > 0 ? 'CHARGE' : 'USE') : invalid == null ? (type as LogEntry['type']) : 'CHARGE',
  amount: Math.abs(signed) as Amount,
  balanceAfter,
  timeMillis,
  ...(invalid == null ? {} : { invalid }),
  ...(ref == null ? {} : { ref }),
  ...(expiresAt == null ? {} : { expiresAt }),
  ...(useAmount == null ? {} : { useAmount }),
})

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0
/** A balance or a version as a row holds it: a safe integer, never below zero. */
const Count = t.refinement(t.number, isCount, 'Count')

export const StateRow = t.type({ balance: Count, version: Count })

/** A balance row as reads see it: stricter than `UserPoint`, which does not say a balance is never negative. */
export const BalanceRow = t.type({ id: UserId, point: Count, updateMillis: t.number })

/** SQLite's last event of a user, which a balance and the writer's state are both read from. */
export const LastEventRow = t.type({ id: UserId, point: Count, version: Count, updateMillis: t.number })

/** A receipt's answer as stored: an accepted one's time is the row's `update_millis`. */
const HoldAnswer = t.type({ holdId: t.number, amount: t.number, expiresAt: t.number })

const StoredOutcome = t.union([
  t.intersection([t.type({ _tag: t.literal('Accepted'), point: t.number }), t.partial({ held: t.number, hold: HoldAnswer })]),
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
  const where = { table: 'receipts', key: keyOf(row, 'key') }
  const { outcome, updateMillis, ...rest } = decodeRow(ReceiptRow, row, where)
  const answer = decodeRow(StoredOutcome, typeof outcome === 'string' ? parsedJson(outcome) : outcome, where)
  return { ...rest, outcome: answer._tag === 'Accepted' ? { ...answer, updateMillis } : answer }
}

/** Where a row lives: its table and its key as `column value`. */
export interface RowRef {
  readonly table: string
  readonly key: string
}

/** The key of a raw row, named by its column; a key that is not a plain value is shown by its type only. */
export const keyOf = (row: unknown, column: string): string => {
  const value = typeof row === 'object' && row !== null ? (row as Record<string, unknown>)[column] : undefined
  return `${column} ${typeof value === 'number' || typeof value === 'string' ? JSON.stringify(value) : typeof value}`
}

/** Thrown by `decodeRow` inside a store call and turned into a `StoreCorrupt` fault at its edge by `storeFault`. */
export class CorruptRow extends Error {
  constructor(
    readonly where: RowRef,
    readonly detail: string,
  ) {
    super(`${where.table} row ${where.key} does not decode: ${detail}`)
  }
}

const parsedJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

// A fault names the columns that failed, never their values; numeric keys are the branches of an intersection.
const columnsOf = (errors: t.Errors): string =>
  [...new Set(errors.map((error) => error.context.map(({ key }) => key).filter((key) => key !== '' && !/^\d+$/.test(key)).join('.') || 'row'))].join(', ')

/** Rows are checked on the way out: a table edited by hand must not leak bad values past the store. */
export function decodeRow<A>(codec: t.Decoder<unknown, A>, row: unknown, where: RowRef): A {
  return pipe(
    codec.decode(row),
    E.getOrElseW((errors) => {
      throw new CorruptRow(where, `bad ${columnsOf(errors)}`)
    }),
  )
}

/** A thrown store call as a fault: a row that did not decode is corruption, anything else an outage. */
export const storeFault = (error: unknown): StoreFault =>
  error instanceof CorruptRow ? storeCorrupt(error.where.table, error.where.key, error.detail) : storeUnavailable(error)

/** An events row as reads select it: `ref` and `expiresAt` are NULL where the type has none, and left out here. */
const withoutNulls = (row: unknown): unknown =>
  typeof row === 'object' && row !== null ? Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null)) : row

export const toStoredEvent = (row: unknown): StoredEvent => decodeRow(StoredEvent, withoutNulls(row), { table: 'events', key: keyOf(row, 'id') })

const HoldRow = t.type({ holdId: t.number, amount: Amount, expiresAt: t.number, placedAt: t.number })

export const toStoredHold = (row: unknown): StoredHold => decodeRow(HoldRow, row, { table: 'holds', key: keyOf(row, 'holdId') })

/** A `holds` column of the balance reads: a JSON array, NULL for none on PostgreSQL, which parses it; text from SQLite. */
const HoldsColumn = t.union([t.null, t.array(t.unknown)])

const parsed = (column: unknown): unknown =>
  typeof column === 'string' ? E.getOrElseW(() => undefined)(E.tryCatch(() => JSON.parse(column) as unknown, E.toError)) : column

/** The `holds` column of a row that reads a balance and its holds together. */
export const holdsColumn = (row: unknown, where: RowRef): StoredHold[] =>
  (decodeRow(HoldsColumn, parsed((row as { holds?: unknown }).holds), where) ?? []).map(toStoredHold)

/** The row of the statement that reads a balance and its holds together; no row is `empty` with no holds. */
export const toBalanceWithHolds = (row: unknown, empty: UserPoint, where: RowRef): BalanceWithHolds => {
  if (row === undefined) return { point: empty, holds: [] }
  // The codec keeps keys it does not know: the balance is taken without its `holds`.
  const { id, point, updateMillis } = decodeRow(BalanceRow, row, where)
  return { point: { id, point, updateMillis }, holds: holdsColumn(row, where) }
}

/** The active holds as the decider keeps them, by id. */
export const activeHolds = (holds: readonly StoredHold[]): { holds?: ReadonlyMap<number, ActiveHold> } =>
  holds.length === 0 ? {} : { holds: new Map(holds.map(({ holdId, amount, expiresAt }) => [holdId, { amount: amount as Amount, expiresAt }])) }

const UseRow = t.type({ id: t.number, amount: t.number, refunded: t.number })
const EndingRow = t.type({ holdId: t.number, type: t.keyof({ CAPTURE: null, RELEASE: null, EXPIRE: null }) })
const DueRow = t.type({ userId: UserId, holdId: t.number })

/** The references a batch names, from the rows its two reads found. */
export const toReferences = (uses: readonly unknown[], endings: readonly unknown[]): References => ({
  uses: new Map(uses.map((row) => decodeRow(UseRow, row, { table: 'events', key: keyOf(row, 'id') })).map(({ id, amount, refunded }) => [id, { amount, refunded }])),
  ended: new Map(endings.map((row) => decodeRow(EndingRow, row, { table: 'events', key: keyOf(row, 'holdId') })).map(({ holdId, type }) => [holdId, type])),
})

export const toDueHold = (row: unknown): { userId: UserId; holdId: number } => decodeRow(DueRow, row, { table: 'holds', key: keyOf(row, 'holdId') })
