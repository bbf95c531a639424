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

/** Readable messages for a failed decode, one per problem, each naming the field. */
export const describeErrors = (errors: t.Errors): string => formatValidationErrors(errors).join('; ')
