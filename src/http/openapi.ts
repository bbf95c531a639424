import type { Limits } from '../events/decider'
import { paths, securityScheme } from './openapi-paths'
import { codeTable, type Json } from './openapi-problems'
import { schemas } from './openapi-schemas'

export interface DocumentOptions {
  readonly limits: Limits
  /** Whether the guarded routes need an API key (`POINT_API_KEYS` is set). */
  readonly secured: boolean
  /** Where clients reach the service: `PUBLIC_URL`, or the address it listens on. */
  readonly serverUrl: string
}

const access = (secured: boolean): string =>
  secured
    ? 'Operations that list `security` need `Authorization: Bearer <key>` with a key from POINT_API_KEYS whose ' +
      'scopes include the one listed; the others are open.'
    : 'This deployment runs without API keys (POINT_API_KEYS is not set): every operation is open to anyone who can ' +
      'reach it.'

/** The OpenAPI 3.1 description of every route the service serves, as the running configuration has them. */
export function openApiDocument({ limits, secured, serverUrl }: DocumentOptions): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Point Ledger',
      version: '0.1.0',
      license: { name: 'Proprietary (UNLICENSED)' },
      description:
        'An event-sourced points service. Commands for one user apply exactly once, in one order. ' +
        `${access(secured)}\n\n` +
        `Every error is \`application/problem+json\` with a stable \`code\`:\n${codeTable}\n\n` +
        'Unknown routes answer `NOT_FOUND`, known routes with another method `METHOD_NOT_ALLOWED`, ' +
        'unknown methods `NOT_IMPLEMENTED`. Routes are matched case-sensitively and without a trailing slash. ' +
        'Before any route, a request too slow to arrive is answered `REQUEST_TIMEOUT`, one with headers too large ' +
        '`HEADERS_TOO_LARGE`, and one that is not HTTP/1.1 `INVALID_REQUEST`.',
    },
    servers: [{ url: serverUrl, description: 'PUBLIC_URL, or else the address this document was fetched from' }],
    // Open unless an operation says otherwise.
    security: [],
    tags: [
      { name: 'points', description: 'Balances, histories and commands' },
      { name: 'operations', description: 'Health, metrics and this document' },
      { name: 'feed', description: 'The change feed: every event of every user, in commit order (see docs/feed.md)' },
    ],
    paths: paths(secured),
    components: {
      schemas: schemas(limits),
      ...(secured
        ? {
          securitySchemes: {
            [securityScheme]: {
              type: 'http',
              scheme: 'bearer',
              description: 'A key from POINT_API_KEYS. Each operation lists the scope it needs: read, charge, use, metrics or feed.',
            },
          },
        }
        : {}),
    },
  }
}
