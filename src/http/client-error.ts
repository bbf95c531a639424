import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { problem, type Problem, type ProblemCode } from './problem'
import { apiHeaders, headersOf } from './security-headers'

/** What Node's parser or timers refused, by Node's error code, as the problem the client is told. */
const refusals = new Map<string, readonly [ProblemCode, string]>([
  ['ERR_HTTP_REQUEST_TIMEOUT', ['REQUEST_TIMEOUT', 'the request headers or body did not arrive in time; the connection is closed']],
  ['HPE_HEADER_OVERFLOW', ['HEADERS_TOO_LARGE', 'the request headers are over the size limit']],
  ['HPE_CHUNK_EXTENSIONS_OVERFLOW', ['PAYLOAD_TOO_LARGE', 'the chunk extensions are over the size limit']],
])
const otherwise = ['INVALID_REQUEST', 'the request is not valid HTTP/1.1'] as const

/** The request's bytes are never echoed. */
const refusal = (code: string | undefined): Problem => problem(...(refusals.get(code ?? '') ?? otherwise))

/** Every code the server may answer before any route sees a request, whichever operation it was meant for. */
export const beforeRoutingCodes: readonly ProblemCode[] = [...new Set([...refusals.values(), otherwise].map(([code]) => code))]

// Written by hand, past Koa, so the API's security headers are too: a refusal is a JSON answer like any other.
// Names in lower case throughout, as the security headers come (header names are case-insensitive).
const securityLines = headersOf(apiHeaders).set.map(([name, value]) => `${name}: ${value}`)

const wire = (p: Problem): string => {
  const body = JSON.stringify(p)
  return [
    `HTTP/1.1 ${p.status} ${STATUS_CODES[p.status] ?? ''}`,
    ...securityLines,
    'content-type: application/problem+json',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    '',
    body,
  ].join('\r\n')
}

/**
 * The server's `clientError` listener: what Node would answer with an empty body, answered as problem+json.
 * As Node does, it writes only when no answer to this connection has started, then closes the connection.
 */
export const answerClientError =
  (logger: Logger) =>
    (error: Error & { code?: string }, socket: Duplex): void => {
      // Only the code: the error also carries the raw bytes the client sent.
      logger.info({ code: error.code }, 'client error')
      const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
      if (error.code === 'ECONNRESET' || !socket.writable || answering?.headersSent === true) {
        socket.destroy()
        return
      }
      socket.end(wire(refusal(error.code)), () => socket.destroy())
    }
