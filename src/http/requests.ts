import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as t from 'io-ts'
import { DecimalIntFromString, decimalIntIn, describeErrors, withDefault } from '../codecs'
import { Amount, UserId } from '../events/model'
import { problem, type Problem } from './problem'

/** `/point/{id}`: a decimal positive safe integer, nothing else. */
export const UserIdParam = DecimalIntFromString.pipe(UserId, 'UserIdParam')

/**
 * A `t.type` that also refuses keys it does not know, where `t.strict` would drop them.
 * Own keys only: `in` would let through names every object inherits, such as `toString`.
 */
const closed = <P extends t.Props>(props: P, name: string) => {
  const open = t.type(props)
  return new t.Type<t.TypeOf<typeof open>, t.OutputOf<typeof open>, unknown>(
    name,
    open.is,
    (u, c) =>
      pipe(
        open.validate(u, c),
        E.flatMap((value) => {
          const unknown = Object.keys(value).filter((key) => !Object.hasOwn(props, key))
          return unknown.length === 0 ? t.success(value) : t.failure(u, c, `unexpected field(s): ${unknown.join(', ')}`)
        }),
      ),
    open.encode,
  )
}

/** The body of `PATCH /point/{id}/charge` and `/use`. */
export const AmountBody = closed({ amount: Amount }, 'AmountBody')
export type AmountBody = t.TypeOf<typeof AmountBody>

/** Page sizes for `GET /point/{id}/histories`. */
export const historyLimits = { default: 1_000, max: 10_000 } as const

/** `?limit=&after=`: a page of at most `limit` events with ids above `after`. */
export const HistoryPageQuery = t.type({
  limit: withDefault(decimalIntIn(1, historyLimits.max), historyLimits.default),
  after: withDefault(decimalIntIn(0, Number.MAX_SAFE_INTEGER), 0),
})
export type HistoryPageQuery = t.TypeOf<typeof HistoryPageQuery>

const isoInstant = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/

/** `?at=`: an instant as epoch milliseconds or an ISO-8601 date-time with its offset. */
export const InstantParam = new t.Type<number, string, unknown>(
  'Instant',
  (u): u is number => Number.isSafeInteger(u),
  (u, c) => {
    if (typeof u === 'string' && /^[0-9]+$/.test(u)) return decimalIntIn(0, Number.MAX_SAFE_INTEGER).validate(u, c)
    const millis = typeof u === 'string' && isoInstant.test(u) ? Date.parse(u) : NaN
    return Number.isSafeInteger(millis) ? t.success(millis) : t.failure(u, c, 'expected epoch milliseconds or an ISO-8601 date-time')
  },
  (n) => new Date(n).toISOString(),
)

/** Decodes one part of a request, naming it in the 400 that a failure becomes. */
export const decode =
  <A>(codec: t.Decoder<unknown, A>, what: string) =>
  (input: unknown): E.Either<Problem, A> =>
    pipe(
      codec.decode(input),
      E.mapLeft((errors) => problem('INVALID_REQUEST', `${what}: ${describeErrors(errors)}`)),
    )
