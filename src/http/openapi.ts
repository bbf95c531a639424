import type { Limits } from '../events/decider'
import { problemCatalog, type ProblemCode } from './problem'
import { historyLimits } from './requests'

export interface DocumentOptions {
  readonly limits: Limits
  /** Whether `/point` routes need an API key (`POINT_API_KEYS` is set). */
  readonly secured: boolean
}

type Json = Record<string, unknown>

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: Json, mediaType = 'application/json'): Json => ({ content: { [mediaType]: { schema } } })

const codes = Object.keys(problemCatalog) as ProblemCode[]

const codeTable = codes
  .map((code) => `- \`${code}\` (${problemCatalog[code].status}): ${problemCatalog[code].title}`)
  .join('\n')

/** A problem+json response whose `code` is one of `which`, all with the same status. */
const problemResponse = (...which: ProblemCode[]): Json => ({
  description: which.map((code) => `\`${code}\`: ${problemCatalog[code].title}`).join('; '),
  ...json(
    {
      allOf: [
        ref('Problem'),
        {
          properties: {
            code: { enum: which },
            status: { const: problemCatalog[which[0] as ProblemCode].status },
          },
        },
      ],
    },
    'application/problem+json',
  ),
})

/** Groups codes by status into the `responses` entries of one operation. */
const problems = (...which: ProblemCode[]): Record<string, Json> => {
  const byStatus = new Map<number, ProblemCode[]>()
  for (const code of which) {
    const status = problemCatalog[code].status
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  return Object.fromEntries([...byStatus].map(([status, group]) => [String(status), problemResponse(...group)]))
}

const schemas = ({ limits }: DocumentOptions): Record<string, Json> => ({
  UserId: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'A user: a positive integer' },
  UserPoint: {
    type: 'object',
    description: "A user's balance as of `updateMillis`",
    required: ['id', 'point', 'updateMillis'],
    additionalProperties: false,
    properties: {
      id: ref('UserId'),
      point: { type: 'integer', minimum: 0, maximum: limits.maxBalance },
      updateMillis: { type: 'integer', description: 'When the balance last changed, in Unix milliseconds' },
    },
  },
  PointHistory: {
    type: 'object',
    description: 'One accepted command, as the event log holds it',
    required: ['id', 'userId', 'type', 'amount', 'timeMillis'],
    additionalProperties: false,
    properties: {
      id: { type: 'integer', minimum: 1, description: 'The log position, increasing across all users' },
      userId: ref('UserId'),
      type: { enum: ['CHARGE', 'USE'] },
      amount: { type: 'integer', minimum: 1, maximum: limits.maxAmount },
      timeMillis: { type: 'integer', description: 'When the command was decided, in Unix milliseconds' },
    },
  },
  AmountBody: {
    type: 'object',
    required: ['amount'],
    additionalProperties: false,
    properties: {
      amount: {
        type: 'integer',
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description: `Points to move: a whole number from 1; over ${limits.maxAmount} (POINT_MAX_AMOUNT) is AMOUNT_LIMIT_EXCEEDED`,
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
      status: { type: 'integer' },
      detail: { type: 'string', description: 'What went wrong with this request' },
      code: { enum: codes },
    },
  },
  Status: {
    type: 'object',
    required: ['status'],
    additionalProperties: false,
    properties: { status: { enum: ['ok', 'ready'] } },
  },
})

const idParameter: Json = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The user id, written in decimal',
  schema: { type: 'string', pattern: '^[1-9][0-9]*$' },
}

const atParameter: Json = {
  name: 'at',
  in: 'query',
  required: false,
  description:
    'Answer the balance as of this moment, replayed from the log: Unix milliseconds, or an ISO-8601 date-time with ' +
    'its offset (a four-digit year, a real calendar date); not before 1970, not a bare date',
  schema: { type: 'string', examples: ['1767225600000', '2026-01-01T00:00:00Z'] },
}

const pageParameters: Json[] = [
  {
    name: 'limit',
    in: 'query',
    required: false,
    description: `Most events in one page: 1 to ${historyLimits.max}, default ${historyLimits.default}`,
    schema: { type: 'string', pattern: '^[1-9][0-9]*$', examples: ['100'] },
  },
  {
    name: 'after',
    in: 'query',
    required: false,
    description: 'Only events with an id greater than this; the `Link` header of the previous page names it',
    schema: { type: 'string', pattern: '^(0|[1-9][0-9]*)$' },
  },
]

const pointOperation = (options: DocumentOptions, scope: string, operation: Json, ...failures: ProblemCode[]): Json => ({
  tags: ['points'],
  parameters: [idParameter],
  ...(options.secured ? { security: [{ apiKey: [scope] }] } : {}),
  ...operation,
  responses: {
    ...(operation['responses'] as Json),
    ...problems(
      'INVALID_REQUEST',
      ...(options.secured ? (['UNAUTHORIZED', 'FORBIDDEN'] as const) : []),
      ...failures,
      'INTERNAL_ERROR',
      'STORE_CORRUPT',
      'STORE_UNAVAILABLE',
      'SHUTTING_DOWN',
    ),
  },
})

const idempotencyKeyParameter: Json = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Names this command so that a retry applies it once: a repeat with the same key, user and body gets the first ' +
    'answer again, status and body, with `Idempotency-Replayed: true`, and appends nothing. Sent at most once; ' +
    'empty or all blank is refused',
  schema: { type: 'string', pattern: '^[\\x20-\\x7E]{1,255}$' },
}

const replayedHeader: Json = {
  'Idempotency-Replayed': { description: 'Present, `true`, when this is the recorded answer to an earlier request with the same key', schema: { const: 'true' } },
}

const command = (options: DocumentOptions, name: 'charge' | 'use', summary: string, rejection: ProblemCode): Json => ({
  patch: pointOperation(
    options,
    name,
    {
      operationId: name,
      summary,
      parameters: [idParameter, idempotencyKeyParameter],
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

const operations = (summary: string, operationId: string, responses: Json, more: Json = {}): Json => ({
  get: { tags: ['operations'], operationId, summary, responses, ...more },
})

/** The OpenAPI 3.1 description of every route the service serves. */
export function openApiDocument(options: DocumentOptions): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Point Ledger',
      version: '0.1.0',
      description:
        'An event-sourced points service. Commands for one user apply exactly once, in one order. ' +
        `Every error is \`application/problem+json\` with a stable \`code\`:\n${codeTable}\n\n` +
        'Unknown routes answer `NOT_FOUND`, known routes with another method `METHOD_NOT_ALLOWED`, ' +
        'unknown methods `NOT_IMPLEMENTED`. Routes are matched case-sensitively and without a trailing slash. ' +
        'Before any route, a request too slow to arrive is answered `REQUEST_TIMEOUT`, one with headers too large ' +
        '`HEADERS_TOO_LARGE`, and one that is not HTTP/1.1 `INVALID_REQUEST`.',
    },
    tags: [
      { name: 'points', description: 'Balances, histories and commands' },
      { name: 'operations', description: 'Health, metrics and this document' },
    ],
    paths: {
      '/point/{id}': {
        get: pointOperation(options, 'read', {
          operationId: 'balance',
          summary: "A user's balance; a user never seen has 0",
          parameters: [idParameter, atParameter],
          responses: { '200': { description: 'The projected balance', ...json(ref('UserPoint')) } },
        }),
      },
      '/point/{id}/histories': {
        get: pointOperation(options, 'read', {
          operationId: 'history',
          summary: "A user's accepted commands, oldest first, a page at a time",
          parameters: [idParameter, ...pageParameters],
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
      '/point/{id}/charge': command(options, 'charge', 'Adds points', 'BALANCE_LIMIT_EXCEEDED'),
      '/point/{id}/use': command(options, 'use', 'Spends points', 'INSUFFICIENT_BALANCE'),
      '/healthz': operations('Liveness: the process is running', 'liveness', {
        '200': { description: 'Alive', ...json(ref('Status')) },
      }),
      '/readyz': operations('Readiness: ready for traffic and the store answers', 'readiness', {
        '200': { description: 'Ready', ...json(ref('Status')) },
        ...problems('NOT_READY', 'STORE_UNAVAILABLE'),
      }),
      '/metrics': operations(
        'Prometheus metrics',
        'metrics',
        {
          '200': { description: 'The Prometheus text format', ...json({ type: 'string' }, 'text/plain') },
          ...(options.secured ? problems('UNAUTHORIZED', 'FORBIDDEN') : {}),
        },
        options.secured ? { security: [{ apiKey: ['metrics'] }] } : {},
      ),
      '/openapi.json': operations('This document', 'openapi', {
        '200': { description: 'OpenAPI 3.1', ...json({ type: 'object' }) },
      }),
      '/docs': operations('This document, rendered by Swagger UI', 'docs', {
        '200': { description: 'An HTML page', ...json({ type: 'string' }, 'text/html') },
      }),
      '/docs/{file}': {
        get: {
          tags: ['operations'],
          operationId: 'docsAsset',
          summary: "The docs page's scripts and styles, served from this origin",
          parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': {
              description: 'A script or a style sheet',
              content: {
                'text/javascript': { schema: { type: 'string' } },
                'text/css': { schema: { type: 'string' } },
              },
            },
            ...problems('NOT_FOUND'),
          },
        },
      },
    },
    components: {
      schemas: schemas(options),
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A key from POINT_API_KEYS. The role each operation lists is the scope it needs: read, charge, use or metrics.',
        },
      },
    },
  }
}
