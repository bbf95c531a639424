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

/**
 * What an event records. CHARGE, USE, REFUND and CAPTURE move points (the history shows them); HOLD reserves
 * points until it is captured, released or expires, and RELEASE and EXPIRE end a hold without moving any.
 */
export const TransactionType = t.keyof({ CHARGE: null, USE: null, REFUND: null, HOLD: null, CAPTURE: null, RELEASE: null, EXPIRE: null })
export type TransactionType = t.TypeOf<typeof TransactionType>

/** The types that move points: the history lists these, and the balance is their sum. */
export const movementTypes: readonly TransactionType[] = ['CHARGE', 'USE', 'REFUND', 'CAPTURE']

export type EndingType = 'CAPTURE' | 'RELEASE' | 'EXPIRE'

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

interface Keyed {
  readonly userId: UserId
  /** With a key, a repeat of the same command is answered as the first was. */
  readonly key?: IdempotencyKey
}
interface CommandFields extends Keyed {
  readonly amount: Amount
}
/** Points added to a user's balance. */
export interface Charge extends CommandFields {
  readonly type: 'Charge'
}
/** Points taken from a user's balance. */
export interface Use extends CommandFields {
  readonly type: 'Use'
}
/** Points of one earlier use given back: `useId` is that USE event's history id. */
export interface Refund extends CommandFields {
  readonly type: 'Refund'
  readonly useId: number
}
/** Points reserved for `ttlMillis`: not available to uses or holds meanwhile. */
export interface Hold extends CommandFields {
  readonly type: 'Hold'
  readonly ttlMillis: number
}
/** All of an active hold (no amount), or part of it, taken as a movement out; the rest is freed. */
export interface Capture extends Keyed {
  readonly type: 'Capture'
  readonly holdId: number
  readonly amount?: Amount
}
/** An active hold given back whole. */
export interface Release extends Keyed {
  readonly type: 'Release'
  readonly holdId: number
}
/** Records that a hold past its expiry has expired; sent by the sweeper, never keyed. */
export interface Expire {
  readonly type: 'Expire'
  readonly userId: UserId
  readonly holdId: number
  readonly key?: undefined
}
/**
 * What the writer is asked to do. Built inside the service from values the edge has already decoded and never
 * decoded itself, so it is a type, not a codec.
 */
export type Command = Charge | Use | Refund | Hold | Capture | Release | Expire

/** The points a command names, if it names any: a release names none, nor does a capture of a whole hold. */
export const amountOf = (command: Command): Amount | undefined => ('amount' in command ? command.amount : undefined)

/** What makes two keyed commands the same command: a retry must match its original on all of it. */
export const fingerprint = (command: Command): string => {
  const { type, userId } = command
  switch (command.type) {
    case 'Charge':
    case 'Use':
      return `${type}:${userId}:${command.amount}`
    case 'Refund':
      return `${type}:${userId}:${command.useId}:${command.amount}`
    case 'Hold':
      return `${type}:${userId}:${command.amount}:${command.ttlMillis}`
    case 'Capture':
      return `${type}:${userId}:${command.holdId}:${command.amount ?? 'all'}`
    case 'Release':
    case 'Expire':
      return `${type}:${userId}:${command.holdId}`
  }
}

/** What an accepted command appends to the log; the log gives it an id. */
export const PointEvent = t.intersection([
  t.type({
    type: TransactionType,
    userId: UserId,
    amount: Amount,
    timeMillis: t.number,
  }),
  t.partial({
    /** REFUND: the refunded USE's history id. HOLD: the hold's own id. CAPTURE, RELEASE, EXPIRE: the hold's id. */
    ref: t.number,
    /** HOLD: when it expires, in Unix milliseconds; from then on it counts as released. */
    expiresAt: t.number,
  }),
])
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
  USE_NOT_FOUND: null,
  REFUND_EXCEEDS_USE: null,
  HOLD_TTL_EXCEEDED: null,
  TOO_MANY_HOLDS: null,
  HOLD_NOT_FOUND: null,
  HOLD_ALREADY_RESOLVED: null,
  CAPTURE_EXCEEDS_HOLD: null,
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

/** A hold as answers show it. */
export interface HoldView {
  readonly holdId: number
  readonly amount: number
  readonly expiresAt: number
}

/** A balance with what active holds reserve of it: `available` is `point - held`. */
export type Balance = UserPoint & { readonly held: number; readonly available: number }

/** An accepted command's answer: the balance right after it, and the hold a hold command placed. */
export type Accepted = Balance & { readonly hold?: HoldView; readonly replayed?: boolean }

export const rejection = (code: RejectionCode, detail: string): Rejection => ({
  _tag: 'Rejection',
  code,
  detail,
})
