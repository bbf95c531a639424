import * as t from 'io-ts'

const isPositiveSafeInteger = (n: number): boolean => Number.isSafeInteger(n) && n > 0

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

export const Charge = t.type({ type: t.literal('Charge'), userId: UserId, amount: Amount })
export const Use = t.type({ type: t.literal('Use'), userId: UserId, amount: Amount })
export const Command = t.union([Charge, Use])
export type Command = t.TypeOf<typeof Command>

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
})
export type RejectionCode = t.TypeOf<typeof RejectionCode>

/** Why the decider refused a command; a rejected command writes nothing. */
export interface Rejection {
  readonly _tag: 'Rejection'
  readonly code: RejectionCode
  readonly detail: string
}

export const rejection = (code: RejectionCode, detail: string): Rejection => ({
  _tag: 'Rejection',
  code,
  detail,
})
