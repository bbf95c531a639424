import { json, problems, ref, type Json } from './openapi-problems'
import { parameters, replayedHeader, retryAfterHeader } from './openapi-parameters'
import type { ProblemCode } from './problem'
import { operationScopes, type GuardedOperation } from './scopes'

/** The name of the bearer-key security scheme, when keys are on. */
export const securityScheme = 'apiKey'

interface Spec {
  readonly operationId: string
  readonly summary: string
  readonly description?: string
  readonly parameters?: Json[]
  readonly requestBody?: Json
  readonly responses: Record<string, Json>
}

const isGuarded = (operationId: string): operationId is GuardedOperation => Object.hasOwn(operationScopes, operationId)

/**
 * One operation: its `security` and 401/403 answers come from the scope its route is guarded with, when keys are
 * on; its problem answers from the catalog.
 */
const operation = (secured: boolean, tag: string, spec: Spec, ...failures: ProblemCode[]): Json => {
  const scope = secured && isGuarded(spec.operationId) ? operationScopes[spec.operationId] : undefined
  const auth: ProblemCode[] = scope === undefined ? [] : ['UNAUTHORIZED', 'FORBIDDEN']
  return {
    tags: [tag],
    ...spec,
    ...(scope === undefined ? {} : { security: [{ [securityScheme]: [scope] }] }),
    responses: { ...spec.responses, ...problems(...auth, ...failures) },
  }
}

/** `op` with `headers` declared on its `5XX` answer, which the catalog's problems build without any. */
const with5xxHeaders = (op: Json, headers: Json): Json => {
  const responses = op['responses'] as Record<string, Json>
  return { ...op, responses: { ...responses, '5XX': { ...responses['5XX'], headers } } }
}

const command = (secured: boolean, operationId: 'charge' | 'use', summary: string, rejection: ProblemCode): Json => ({
  patch: operation(
    secured,
    'points',
    {
      operationId,
      summary,
      parameters: [parameters.id, parameters.idempotencyKey],
      requestBody: { required: true, ...json(ref('AmountBody')) },
      responses: {
        '200': { description: 'The balance right after this command', headers: replayedHeader, ...json(ref('UserPoint')) },
      },
    },
    'AMOUNT_LIMIT_EXCEEDED',
    rejection,
    'IDEMPOTENCY_KEY_REUSED',
    'PAYLOAD_TOO_LARGE',
  ),
})

/** A command of the newer kind: its own parameters, body and answer, and the rules' codes it can answer with. */
const newerCommand = (
  secured: boolean,
  operationId: 'refund' | 'hold' | 'capture' | 'release',
  summary: string,
  parts: { parameters: Json[]; body?: string; optionalBody?: boolean; answer: string; description: string },
  ...failures: ProblemCode[]
): Json => ({
  patch: operation(
    secured,
    'points',
    {
      operationId,
      summary,
      parameters: [...parts.parameters, parameters.idempotencyKey],
      ...(parts.body === undefined ? {} : { requestBody: { required: parts.optionalBody !== true, ...json(ref(parts.body)) } }),
      responses: { '200': { description: parts.description, headers: replayedHeader, ...json(ref(parts.answer)) } },
    },
    ...failures,
    'IDEMPOTENCY_KEY_REUSED',
    ...(parts.body === undefined ? [] : (['PAYLOAD_TOO_LARGE'] as const)),
  ),
})

const text = (mediaType: string): Json => ({ type: 'string', description: `A ${mediaType} document` })

/** Every route the service serves, keyed by its path template. */
export const paths = (secured: boolean): Record<string, Json> => ({
  '/point/{id}': {
    get: operation(secured, 'points', {
      operationId: 'balance',
      summary: "A user's balance; a user never seen has 0",
      parameters: [parameters.id, parameters.at],
      responses: { '200': { description: 'The projected balance', ...json(ref('UserPoint')) } },
    }),
  },
  '/point/{id}/histories': {
    get: operation(secured, 'points', {
      operationId: 'history',
      summary: "A user's accepted commands, oldest first, a page at a time",
      parameters: [parameters.id, parameters.limit, parameters.after],
      responses: {
        '200': {
          description: 'The events, oldest first',
          headers: {
            Link: {
              description: 'Present when more events remain: `<…?after=ID&limit=N>; rel="next"`',
              schema: { type: 'string' },
            },
          },
          ...json({ type: 'array', items: ref('PointHistory') }),
        },
      },
    }),
  },
  '/point/{id}/charge': command(secured, 'charge', 'Adds points', 'BALANCE_LIMIT_EXCEEDED'),
  '/point/{id}/use': command(secured, 'use', 'Spends points', 'INSUFFICIENT_BALANCE'),
  '/point/{id}/refund': newerCommand(
    secured,
    'refund',
    'Gives back all or part of one earlier use; never refused for the maximum balance, as it returns points the user held',
    { parameters: [parameters.id], body: 'RefundBody', answer: 'UserPoint', description: 'The balance right after the refund' },
    'AMOUNT_LIMIT_EXCEEDED',
    'USE_NOT_FOUND',
    'REFUND_EXCEEDS_USE',
  ),
  '/point/{id}/hold': newerCommand(
    secured,
    'hold',
    'Reserves points until the hold is captured, released or expires; a use or a hold needs `available` to cover it',
    { parameters: [parameters.id], body: 'HoldBody', answer: 'HoldPlaced', description: 'The hold placed and the balance right after it' },
    'AMOUNT_LIMIT_EXCEEDED',
    'HOLD_TTL_EXCEEDED',
    'TOO_MANY_HOLDS',
    'INSUFFICIENT_BALANCE',
  ),
  '/point/{id}/holds': {
    get: operation(secured, 'points', {
      operationId: 'holds',
      summary: "A user's active holds, oldest first: neither captured, released nor past their expiry",
      parameters: [parameters.id],
      responses: { '200': { description: 'The active holds', ...json({ type: 'array', items: ref('Hold') }) } },
    }),
  },
  '/point/{id}/holds/{holdId}/capture': newerCommand(
    secured,
    'capture',
    'Takes all of an active hold, or the amount given, as a movement out; what it does not take is released',
    { parameters: [parameters.id, parameters.holdId], body: 'CaptureBody', answer: 'UserPoint', description: 'The balance right after the capture' },
    'AMOUNT_LIMIT_EXCEEDED',
    'HOLD_NOT_FOUND',
    'HOLD_ALREADY_RESOLVED',
    'CAPTURE_EXCEEDS_HOLD',
  ),
  '/point/{id}/holds/{holdId}/release': newerCommand(
    secured,
    'release',
    'Gives an active hold back whole',
    { parameters: [parameters.id, parameters.holdId], body: 'ReleaseBody', optionalBody: true, answer: 'UserPoint', description: 'The balance right after the release' },
    'HOLD_NOT_FOUND',
    'HOLD_ALREADY_RESOLVED',
  ),
  '/events': {
    get: operation(secured, 'feed', {
      operationId: 'feed',
      summary: 'The change feed: events of all users, oldest first, a page at a time',
      description:
        'Every event of every user, once, in commit order; each user\'s events in their version order. Resume from ' +
        '`next` (or the last processed `position`) after a crash: delivery is at least once when a consumer ' +
        'processes and then checkpoints, so consumers are idempotent on `position`. An event appears only once ' +
        'every event below it has committed, so a page never passes one over; on PostgreSQL the feed trails the ' +
        'oldest write transaction still running.',
      parameters: [parameters.feedAfter, parameters.feedLimit],
      responses: { '200': { description: 'A page of the feed', ...json(ref('FeedPage')) } },
    }),
  },
  '/events/stream': {
    get: with5xxHeaders(operation(secured, 'feed', {
      operationId: 'feedStream',
      summary: 'The change feed as Server-Sent Events: the events after a position, then new ones as they commit',
      description:
        'Each event is one SSE message: `id` is its position, `data` a FeedEvent as JSON. A comment line ' +
        '(`: heartbeat`) comes every FEED_HEARTBEAT_MS. The service ends a stream with `event: disconnect`, whose ' +
        '`data` is `{"code", "detail", "after"}`: `SLOW_CONSUMER` once more than FEED_STREAM_BUFFER_BYTES wait ' +
        'unsent, `SHUTTING_DOWN` on a drain, `STORE_UNAVAILABLE` or `STORE_CORRUPT` when the store fails; ' +
        'reconnect with `Last-Event-ID` (EventSource does) or `?after=` set to `after`. Events committed through ' +
        'another instance arrive within about FEED_POLL_MS. An instance serves at most FEED_MAX_STREAMS streams at ' +
        'once; one more is answered 503 `TOO_MANY_STREAMS` with `Retry-After`.',
      parameters: [parameters.feedAfter, parameters.lastEventId],
      responses: {
        '200': {
          description: 'A stream of events that ends only when the client or the service ends it',
          content: { 'text/event-stream': { schema: { type: 'string', description: 'SSE messages; each `data` is a FeedEvent' } } },
        },
      },
    }), retryAfterHeader),
  },
  '/healthz': {
    get: operation(secured, 'operations', {
      operationId: 'liveness',
      summary: 'Liveness: the process is running',
      responses: { '200': { description: 'Alive', ...json(ref('Status')) } },
    }),
  },
  '/readyz': {
    get: operation(secured, 'operations', {
      operationId: 'readiness',
      summary: 'Readiness: ready for traffic and the store answers; otherwise NOT_READY or STORE_UNAVAILABLE',
      responses: { '200': { description: 'Ready', ...json(ref('Status')) } },
    }),
  },
  '/metrics': {
    get: operation(secured, 'operations', {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      responses: { '200': { description: 'The Prometheus text format', ...json(text('text/plain'), 'text/plain') } },
    }),
  },
  '/openapi.json': {
    get: operation(secured, 'operations', {
      operationId: 'openapi',
      summary: 'This document',
      responses: { '200': { description: 'OpenAPI 3.1', ...json({ type: 'object', additionalProperties: true }) } },
    }),
  },
  '/docs': {
    get: operation(secured, 'operations', {
      operationId: 'docs',
      summary: 'This document, rendered by Swagger UI',
      responses: { '200': { description: 'An HTML page', ...json(text('text/html'), 'text/html') } },
    }),
  },
  '/docs/{file}': {
    get: operation(
      secured,
      'operations',
      {
        operationId: 'docsAsset',
        summary: "The docs page's scripts and styles, served from this origin",
        parameters: [{ name: 'file', in: 'path', required: true, description: 'A file the page names', schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'A script or a style sheet',
            content: { 'text/javascript': { schema: text('text/javascript') }, 'text/css': { schema: text('text/css') } },
          },
        },
      },
      'NOT_FOUND',
    ),
  },
})
