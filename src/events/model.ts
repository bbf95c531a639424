import * as t from 'io-ts'

/** The range of ids and amounts; the API document states it from here. */
export const positiveSafeInteger = { minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const

const isPositiveSafeInteger = (n: number): boolean => Number.isSafeInteger(n) && n >= positiveSafeInteger.minimum

interface UserIdBrand {
  readonly UserId: unique symbol
}
/** A user's id: a positive safe integer. */
export const UserId = t.brand(
  t.number,
  (n): n is t.Branded<number, UserIdBrand> => isPositiveSafeInteger(n),
  'UserId',
)
export type UserId = t.TypeOf<typeof UserId>

interface AmountBrand {
  readonly Amount: unique symbol
}
/** A number of points moved by one command: a positive safe integer. */
export const Amount = t.brand(
  t.number,
  (n): n is t.Branded<number, AmountBrand> => isPositiveSafeInteger(n),
  'Amount',
)
export type Amount = t.TypeOf<typeof Amount>

export const TransactionType = t.keyof({ CHARGE: null, USE: null })
export type TransactionType = t.TypeOf<typeof TransactionType>

interface IdempotencyKeyBrand {
  readonly IdempotencyKey: unique symbol
}
/** What an IdempotencyKey may hold, as a regular-expression class and a length; the API document states it from here. */
export const idempotencyKeyRule = { characters: '\\x20-\\x7E', minLength: 1, maxLength: 255 } as const
const keyPattern = new RegExp(`^[${idempotencyKeyRule.characters}]{${idempotencyKeyRule.minLength},${idempotencyKeyRule.maxLength}}$`)

/** A client's name for one command, so a retry of it applies once: 1–255 printable ASCII characters. */
export const IdempotencyKey = t.brand(
  t.string,
  (s): s is t.Branded<string, IdempotencyKeyBrand> => keyPattern.test(s),
  'IdempotencyKey',
)
export type IdempotencyKey = t.TypeOf<typeof IdempotencyKey>

interface CommandFields {
  readonly userId: UserId
  readonly amount: Amount
  /** With a key, a repeat of the same command is answered as the first was. */
  readonly key?: IdempotencyKey
}
/** Points added to a user's balance. */
export interface Charge extends CommandFields {
  readonly type: 'Charge'
}
/** Points taken from a user's balance. */
export interface Use extends CommandFields {
  readonly type: 'Use'
}
/**
 * What the writer is asked to do. Built inside the service from values the edge has already decoded and never
 * decoded itself, so it is a type, not a codec.
 */
export type Command = Charge | Use

/** What makes two keyed commands the same command: a retry must match its original on all of it. */
export const fingerprint = ({ type, userId, amount }: Command): string => `${type}:${userId}:${amount}`

/** What an accepted command appends to the log; the log gives it an id. */
export const PointEvent = t.type({
  type: TransactionType,
  userId: UserId,
  amount: Amount,
  timeMillis: t.number,
})
export type PointEvent = t.TypeOf<typeof PointEvent>

/** An event as the log stores it: one history row. */
export const StoredEvent = t.intersection([PointEvent, t.type({ id: t.number })])
export type StoredEvent = t.TypeOf<typeof StoredEvent>

/** A user's balance as the projection holds it. */
export const UserPoint = t.type({ id: UserId, point: t.number, updateMillis: t.number })
export type UserPoint = t.TypeOf<typeof UserPoint>

export const RejectionCode = t.keyof({
  AMOUNT_LIMIT_EXCEEDED: null,
  INSUFFICIENT_BALANCE: null,
  BALANCE_LIMIT_EXCEEDED: null,
  IDEMPOTENCY_KEY_REUSED: null,
})
export type RejectionCode = t.TypeOf<typeof RejectionCode>

/** Why the decider refused a command; a rejected command writes nothing. */
export interface Rejection {
  readonly _tag: 'Rejection'
  readonly code: RejectionCode
  readonly detail: string
  /** True when this is the recorded answer to an earlier command with the same key. */
  readonly replayed?: boolean
}

/** An accepted command's answer: the balance right after it. */
export type Accepted = UserPoint & { readonly replayed?: boolean }

export const rejection = (code: RejectionCode, detail: string): Rejection => ({
  _tag: 'Rejection',
  code,
  detail,
})
