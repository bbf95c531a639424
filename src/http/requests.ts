import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as t from 'io-ts'
import { DecimalIntFromString, describeErrors } from '../codecs'
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

/** Decodes one part of a request, naming it in the 400 that a failure becomes. */
export const decode =
  <A>(codec: t.Decoder<unknown, A>, what: string) =>
  (input: unknown): E.Either<Problem, A> =>
    pipe(
      codec.decode(input),
      E.mapLeft((errors) => problem('INVALID_REQUEST', `${what}: ${describeErrors(errors)}`)),
    )
