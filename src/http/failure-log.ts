import type { Context } from 'koa'
import type { CommandFailure } from '../events/commands'

/** What a request's log line says of the error behind its 5xx answer: a code and a message, never a body or a row. */
export interface LoggedError {
  readonly code?: string
  readonly message: string
}

const stateKey = 'failure'

const plainCode = (value: unknown): string | undefined =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : undefined

/**
 * A driver's error as the log shows it: SQLite's `SQLITE_FULL`, PostgreSQL's SQLSTATE such as `57014`, Node's
 * `ECONNREFUSED`. Only `code` and `message` are taken: a PostgreSQL error's `detail` may quote a row's values.
 */
export const loggedCause = (cause: unknown): LoggedError => {
  if (typeof cause === 'object' && cause !== null) {
    const { code, message, _tag } = cause as { code?: unknown; message?: unknown; _tag?: unknown }
    // A version race lost too often, reported as unavailable by the writer.
    if (_tag === 'VersionConflict') return { code: 'VERSION_CONFLICT', message: 'the user was written by another process each time' }
    if (typeof message === 'string') {
      const named = plainCode(code)
      // A refused connection to a host with several addresses is an AggregateError with an empty message of its own.
      const said = message === '' && cause instanceof AggregateError ? cause.errors.map((inner) => loggedCause(inner).message).join('; ') : message
      return named === undefined ? { message: said } : { code: named, message: said }
    }
  }
  return { message: String(cause) }
}

/** The error worth logging behind a failed command or read; none for a rejection, which is the caller's. */
export const loggedFailure = (failure: CommandFailure): LoggedError | undefined => {
  switch (failure._tag) {
    case 'Rejection':
      return undefined
    case 'StoreUnavailable':
      return loggedCause(failure.cause)
    case 'StoreCorrupt':
      return { code: 'STORE_CORRUPT', message: `${failure.table} row ${failure.key} does not decode: ${failure.detail}` }
    case 'Defect':
      return loggedCause(failure.error)
  }
}

/** Kept with the request for its log line. */
export const noteFailure = (ctx: Context, error: LoggedError | undefined): void => {
  if (error !== undefined) ctx.state[stateKey] = error
}

export const notedFailure = (ctx: Context): LoggedError | undefined => ctx.state[stateKey] as LoggedError | undefined
