import { beforeRoutingCodes } from './client-error'
import { problemCatalog, type ProblemCode } from './problem'

export type Json = Record<string, unknown>

export const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` })
export const json = (schema: Json, mediaType = 'application/json'): Json => ({ content: { [mediaType]: { schema } } })

/** Every code in the catalog, so a code added there is documented without touching the document. */
export const problemCodes = Object.keys(problemCatalog) as ProblemCode[]

export const codeTable = problemCodes
  .map((code) => `- \`${code}\` (${problemCatalog[code].status}): ${problemCatalog[code].title}`)
  .join('\n')

const statusOf = (code: ProblemCode): number => problemCatalog[code].status

/** A problem+json response whose `code` is one of `which`. */
const problemResponse = (description: string, which: readonly ProblemCode[]): Json => {
  const statuses = [...new Set(which.map(statusOf))]
  return {
    description,
    ...json(
      {
        allOf: [
          ref('Problem'),
          {
            required: ['code', 'status'],
            properties: {
              code: { enum: which },
              status: statuses.length === 1 ? { const: statuses[0] } : { enum: statuses },
            },
          },
        ],
      },
      'application/problem+json',
    ),
  }
}

const described = (which: readonly ProblemCode[]): string =>
  which.map((code) => `\`${code}\`: ${problemCatalog[code].title}`).join('; ')

// A fault on the service's side is not the client's to fix, so every operation may answer any of them.
const serverFaults = problemCodes.filter((code) => statusOf(code) >= 500)

/**
 * The problem responses of one operation: its own client errors (`which`) and those the server answers before any
 * route, one response per status, and every 5xx code of the catalog as the `5XX` range.
 */
export const problems = (...which: ProblemCode[]): Record<string, Json> => {
  const byStatus = new Map<number, ProblemCode[]>()
  for (const code of new Set([...which, ...beforeRoutingCodes])) {
    if (statusOf(code) >= 500) continue
    byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code])
  }
  const clientErrors = [...byStatus].sort(([a], [b]) => a - b)
  return {
    ...Object.fromEntries(clientErrors.map(([status, group]) => [String(status), problemResponse(described(group), group)])),
    '5XX': problemResponse(`A fault on the service's side; retry later. ${described(serverFaults)}`, serverFaults),
  }
}
