import { Amount, UserId } from '../../src/events/model'

/** Test literals as branded values; throws on a bad literal, which is a bug in the test. */
export const userId = (n: number): UserId => {
  if (!UserId.is(n)) throw new RangeError(`not a user id: ${n}`)
  return n
}

export const amount = (n: number): Amount => {
  if (!Amount.is(n)) throw new RangeError(`not an amount: ${n}`)
  return n
}
