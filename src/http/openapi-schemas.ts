import { defaultHoldTtlMillis, defaultMaxHoldTtlMillis, type Limits } from '../events/decider'
import { positionTextPattern } from '../events/feed'
import { positiveSafeInteger } from '../events/model'
import { codeTable, problemCodes, ref, type Json } from './openapi-problems'
import { problemCatalog } from './problem'

const millis = (description: string): Json => ({ type: 'integer', minimum: 0, description })

const holdId: Json = { type: 'integer', ...positiveSafeInteger, description: "A hold's id, numbered per user" }

const balanceProperties: Record<string, Json> = {
  id: ref('UserId'),
  // A charge keeps it within POINT_MAX_BALANCE (a refund may go past it), and one decided under a larger, earlier setting stays.
  point: { type: 'integer', minimum: 0, maximum: positiveSafeInteger.maximum, description: 'What the user owns' },
  held: { type: 'integer', minimum: 0, maximum: positiveSafeInteger.maximum, description: 'What active holds reserve of it' },
  available: { type: 'integer', minimum: 0, maximum: positiveSafeInteger.maximum, description: '`point - held`: what a use or a new hold may take' },
  updateMillis: millis('When the balance last changed, in Unix milliseconds'),
}

const amountOf = (limits: Limits, description: string): Json => ({
  type: 'integer',
  minimum: positiveSafeInteger.minimum,
  maximum: limits.maxAmount,
  description: `${description}: a whole number from ${positiveSafeInteger.minimum} to POINT_MAX_AMOUNT; over it is AMOUNT_LIMIT_EXCEEDED`,
})

/** One event of the log, as a history lists it. */
const pointHistory: Json = {
  type: 'object',
  description:
    'One event of the log. The history lists the movements: CHARGE and REFUND in, USE and CAPTURE out; a REFUND names ' +
    'the use it gives back (`useId`), a CAPTURE the hold it takes (`holdId`). HOLD, RELEASE and EXPIRE move nothing ' +
    'and are listed as holds; where they appear, they name their hold, and a HOLD its expiry',
  required: ['id', 'userId', 'type', 'amount', 'timeMillis'],
  additionalProperties: false,
  properties: {
    id: { type: 'integer', ...positiveSafeInteger, description: "The event's id in the log, unique across all users; the order of a user's history, not of commits across users (the change feed has that)" },
    userId: ref('UserId'),
    type: { enum: ['CHARGE', 'USE', 'REFUND', 'CAPTURE', 'HOLD', 'RELEASE', 'EXPIRE'] },
    // Not bounded by today's POINT_MAX_AMOUNT: the log keeps what earlier settings accepted.
    amount: { type: 'integer', ...positiveSafeInteger },
    timeMillis: millis('When the command was decided, in Unix milliseconds'),
    useId: { type: 'integer', ...positiveSafeInteger, description: 'REFUND: the history id of the use it gives back' },
    holdId: holdId,
    expiresMillis: millis('HOLD: when it expires, in Unix milliseconds'),
  },
}

/** The document's component schemas, bounded by the running configuration's limits. */
export const schemas = (limits: Limits): Record<string, Json> => ({
  UserId: { type: 'integer', ...positiveSafeInteger, description: 'A user: a positive safe integer' },
  UserPoint: {
    type: 'object',
    description: "A user's balance as of `updateMillis`, and what active holds reserve of it",
    required: ['id', 'point', 'held', 'available', 'updateMillis'],
    additionalProperties: false,
    properties: balanceProperties,
  },
  HoldPlaced: {
    type: 'object',
    description: 'The hold just placed, and the balance right after it',
    required: ['id', 'point', 'held', 'available', 'updateMillis', 'hold'],
    additionalProperties: false,
    properties: {
      ...balanceProperties,
      hold: {
        type: 'object',
        required: ['holdId', 'amount', 'expiresMillis'],
        additionalProperties: false,
        properties: { holdId: holdId, amount: { type: 'integer', ...positiveSafeInteger }, expiresMillis: millis('When the hold expires, in Unix milliseconds') },
      },
    },
  },
  Hold: {
    type: 'object',
    description: 'An active hold: points reserved until it is captured, released or expires',
    required: ['holdId', 'amount', 'placedMillis', 'expiresMillis'],
    additionalProperties: false,
    properties: {
      holdId: holdId,
      amount: { type: 'integer', ...positiveSafeInteger },
      placedMillis: millis('When the hold was placed, in Unix milliseconds'),
      expiresMillis: millis('When the hold expires, in Unix milliseconds; from then on it reserves nothing'),
    },
  },
  PointHistory: pointHistory,
  RefundBody: {
    type: 'object',
    required: ['useId', 'amount'],
    additionalProperties: false,
    properties: {
      useId: { type: 'integer', ...positiveSafeInteger, description: "The history id of the user's USE to refund" },
      amount: amountOf(limits, 'Points to give back; all refunds of one use add up to at most its amount'),
    },
  },
  HoldBody: {
    type: 'object',
    required: ['amount'],
    additionalProperties: false,
    properties: {
      amount: amountOf(limits, 'Points to reserve; `available` must cover them'),
      ttlSeconds: {
        type: 'integer',
        minimum: 1,
        maximum: Math.floor(Number.MAX_SAFE_INTEGER / 1000),
        default: (limits.defaultHoldTtlMillis ?? defaultHoldTtlMillis) / 1000,
        description: `How long the hold lasts, in seconds: HOLD_DEFAULT_TTL_SECONDS when absent; over HOLD_MAX_TTL_SECONDS (now ${(limits.maxHoldTtlMillis ?? defaultMaxHoldTtlMillis) / 1000}) is HOLD_TTL_EXCEEDED`,
      },
    },
  },
  CaptureBody: {
    type: 'object',
    additionalProperties: false,
    properties: { amount: amountOf(limits, 'Points to take from the hold; absent, all of it. The rest is released') },
  },
  ReleaseBody: {
    type: 'object',
    additionalProperties: false,
    description: 'A release gives the whole hold back, so it takes no body; one sent must be empty',
    properties: {},
  },
  FeedPosition: {
    type: 'string',
    pattern: positionTextPattern,
    description: 'Where an event sits in the change feed: pass it back as `after` (or `Last-Event-ID`) to resume after it. Opaque: compare nothing, store it',
  },
  FeedEvent: {
    type: 'object',
    description: 'One event of the change feed: its position, and the event as the user\'s history shows it',
    required: ['position', 'event'],
    additionalProperties: false,
    properties: {
      position: ref('FeedPosition'),
      event: {
        ...pointHistory,
        description: 'The event as a history shows it. HOLD, RELEASE and EXPIRE are in no history and carry no `id`',
        required: ['userId', 'type', 'amount', 'timeMillis'],
      },
    },
  },
  FeedPage: {
    type: 'object',
    required: ['events', 'next'],
    additionalProperties: false,
    properties: {
      events: { type: 'array', items: ref('FeedEvent'), description: 'Events of all users, oldest first; each user\'s in their version order' },
      next: { ...ref('FeedPosition'), description: 'Where the next page starts: the last event\'s position, or `after` itself when the page is empty' },
    },
  },
  AmountBody: {
    type: 'object',
    required: ['amount'],
    additionalProperties: false,
    properties: {
      amount: {
        type: 'integer',
        minimum: positiveSafeInteger.minimum,
        maximum: limits.maxAmount,
        description: `Points to move: a whole number from ${positiveSafeInteger.minimum} to POINT_MAX_AMOUNT; over it is AMOUNT_LIMIT_EXCEEDED`,
      },
    },
  },
  Problem: {
    type: 'object',
    description: `An RFC 9457 problem. \`code\` is stable and machine-readable:\n${codeTable}`,
    required: ['type', 'title', 'status', 'detail', 'code'],
    additionalProperties: false,
    properties: {
      type: { type: 'string', description: 'A URN naming the problem' },
      title: { type: 'string' },
      status: { enum: [...new Set(problemCodes.map((code) => problemCatalog[code].status))] },
      detail: { type: 'string', description: 'What went wrong with this request' },
      code: { enum: problemCodes },
    },
  },
  Status: {
    type: 'object',
    required: ['status'],
    additionalProperties: false,
    properties: { status: { enum: ['ok', 'ready'] } },
  },
})
