import * as t from 'io-ts'
import { formatValidationErrors } from 'io-ts-reporters'

/**
 * A plain decimal integer written as a string, "0" or without leading zeros,
 * that fits a safe integer. io-ts-types' IntFromString is too lenient here: it
 * takes " 12 ", "0x10" and "1e3", and rounds past 2^53.
 */
export const DecimalIntFromString = new t.Type<number, string, unknown>(
  'DecimalIntFromString',
  (u): u is number => Number.isSafeInteger(u),
  (u, c) => {
    if (typeof u !== 'string' || !/^-?(0|[1-9][0-9]*)$/.test(u)) return t.failure(u, c, 'expected a decimal integer')
    const n = Number(u)
    return Number.isSafeInteger(n) ? t.success(n) : t.failure(u, c, 'expected a safe integer')
  },
  String,
)

/** A decimal integer string whose value lies from `min` to `max`. */
export const decimalIntIn = (min: number, max: number, name = `integer from ${min} to ${max}`) =>
  DecimalIntFromString.pipe(
    new t.Type<number, number, number>(
      name,
      (n): n is number => typeof n === 'number' && n >= min && n <= max,
      (n, c) => (n >= min && n <= max ? t.success(n) : t.failure(n, c, `expected an integer from ${min} to ${max}`)),
      t.identity,
    ),
    name,
  )

/** A value that falls back to `fallback` when absent or empty. */
export const withDefault = <A, O>(codec: t.Type<A, O, unknown>, fallback: A): t.Type<A, O, unknown> =>
  new t.Type(
    codec.name,
    codec.is,
    (u, c) => (u === undefined || u === '' ? t.success(fallback) : codec.validate(u, c)),
    codec.encode,
  )

/** Readable messages for a failed decode, one per problem, each naming the field. */
export const describeErrors = (errors: t.Errors): string => formatValidationErrors(errors).join('; ')
