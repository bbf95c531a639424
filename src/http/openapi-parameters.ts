import { idempotencyKeyRule, positiveSafeInteger } from '../events/model'
import type { Json } from './openapi-problems'
import { positionTextPattern } from '../events/feed'
import { feedPageBounds, idempotencyKeyHeaderPattern, instantPattern, latestInstant, pageBounds } from './requests'

/** The parameters and headers of the point routes, with the bounds their codecs enforce. */
export const parameters = {
  id: {
    name: 'id',
    in: 'path',
    required: true,
    description: 'The user id, written in decimal without leading zeros',
    schema: { type: 'integer', ...positiveSafeInteger },
  },
  holdId: {
    name: 'holdId',
    in: 'path',
    required: true,
    description: "The hold's id, as placing it answered: numbered per user, written in decimal without leading zeros",
    schema: { type: 'integer', ...positiveSafeInteger },
  },
  at: {
    name: 'at',
    in: 'query',
    required: false,
    description:
      'Answer the balance right after the user\'s events stamped at or before this moment, with `updateMillis` the ' +
      'time of the last of them (this moment itself, and point 0, if there is none): Unix milliseconds, or an ' +
      'ISO-8601 date-time with its offset (a four-digit year, a real calendar date); not before 1970, not a bare date; ' +
      `in milliseconds at most ${latestInstant} (the latest moment a date can hold)`,
    schema: { type: 'string', pattern: instantPattern, examples: ['1767225600000', '2026-01-01T00:00:00Z'] },
  },
  limit: {
    name: 'limit',
    in: 'query',
    required: false,
    description: 'Most events in one page',
    schema: { type: 'integer', ...pageBounds.limit },
  },
  after: {
    name: 'after',
    in: 'query',
    required: false,
    description: 'Only events with an id greater than this; the `Link` header of the previous page names it',
    schema: { type: 'integer', ...pageBounds.after },
  },
  idempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Names this command of this user so that a retry applies it once: a repeat with the same key and body for ' +
      'the same user gets the first answer again, status and body, with `Idempotency-Replayed: true`, and appends ' +
      'nothing; the same key for another user is another command. Answers are kept for ' +
      'IDEMPOTENCY_RETENTION_SECONDS (24 hours by default); after that the key is a new command. Printable ASCII, ' +
      'sent at most once; empty or all blank is refused',
    schema: {
      type: 'string',
      minLength: idempotencyKeyRule.minLength,
      maxLength: idempotencyKeyRule.maxLength,
      pattern: idempotencyKeyHeaderPattern,
    },
  },
  feedAfter: {
    name: 'after',
    in: 'query',
    required: false,
    description:
      'Only events after this position: the `next` of the previous page, or the `position` of the last event ' +
      'processed. Omitted, or `0`: from the first event. A position is only meaningful to the store that gave it: ' +
      "one of another store's form (`1290-42` on SQLite, `42` on PostgreSQL) is refused with `INVALID_REQUEST`",
    schema: { type: 'string', pattern: positionTextPattern, examples: ['0', '1290-42'] },
  },
  feedLimit: {
    name: 'limit',
    in: 'query',
    required: false,
    description: 'Most events in one page',
    schema: { type: 'integer', ...feedPageBounds.limit },
  },
  lastEventId: {
    name: 'Last-Event-ID',
    in: 'header',
    required: false,
    description:
      'The `id` of the last event received, as EventSource sends it on reconnecting; it wins over `?after=`. ' +
      "One of another store's form is refused with `INVALID_REQUEST`, as `after` is",
    schema: { type: 'string', pattern: positionTextPattern },
  },
} satisfies Record<string, Json>

export const replayedHeader: Json = {
  'Idempotency-Replayed': {
    description: 'Present, `true`, when this is the recorded answer to an earlier request with the same key',
    schema: { const: 'true' },
  },
}

/** On a refused stream (`TOO_MANY_STREAMS`): when to try again. */
export const retryAfterHeader: Json = {
  'Retry-After': {
    description: 'On `TOO_MANY_STREAMS`: the seconds to wait before opening the stream again',
    schema: { type: 'integer', minimum: 1 },
  },
}
