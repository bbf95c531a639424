import type { Limits } from '../events/decider'
import { positionTextPattern } from '../events/feed'
import { positiveSafeInteger } from '../events/model'
import { codeTable, problemCodes, ref, type Json } from './openapi-problems'
import { problemCatalog } from './problem'

const millis = (description: string): Json => ({ type: 'integer', minimum: 0, description })

/** The document's component schemas, bounded by the running configuration's limits. */
export const schemas = (limits: Limits): Record<string, Json> => ({
  UserId: { type: 'integer', ...positiveSafeInteger, description: 'A user: a positive safe integer' },
  UserPoint: {
    type: 'object',
    description: "A user's balance as of `updateMillis`",
    required: ['id', 'point', 'updateMillis'],
    additionalProperties: false,
    properties: {
      id: ref('UserId'),
      // A charge keeps it within POINT_MAX_BALANCE, but one decided under a larger, earlier setting stays.
      point: { type: 'integer', minimum: 0, maximum: positiveSafeInteger.maximum },
      updateMillis: millis('When the balance last changed, in Unix milliseconds'),
    },
  },
  PointHistory: {
    type: 'object',
    description: 'One accepted command, as the event log holds it',
    required: ['id', 'userId', 'type', 'amount', 'timeMillis'],
    additionalProperties: false,
    properties: {
      id: { type: 'integer', ...positiveSafeInteger, description: 'The log position, increasing across all users' },
      userId: ref('UserId'),
      type: { enum: ['CHARGE', 'USE'] },
      // Not bounded by today's POINT_MAX_AMOUNT: the log keeps what earlier settings accepted.
      amount: { type: 'integer', ...positiveSafeInteger },
      timeMillis: millis('When the command was decided, in Unix milliseconds'),
    },
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
    properties: { position: ref('FeedPosition'), event: ref('PointHistory') },
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
