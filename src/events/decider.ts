import * as E from 'fp-ts/Either'
import { absurd } from 'fp-ts/function'
import { rejection, type Command, type PointEvent, type Rejection } from './model'

export interface Limits {
  /** Largest amount one command may move. */
  readonly maxAmount: number
  /** Largest balance a user may hold. */
  readonly maxBalance: number
}

/** What the decider needs to know about a user: the fold of their events. */
export interface PointState {
  readonly balance: number
  /** How many events the user has; the next event gets version + 1. */
  readonly version: number
}

export const initialState: PointState = { balance: 0, version: 0 }

/** How an event moves the balance. */
export const delta = (event: Pick<PointEvent, 'type' | 'amount'>): number => (event.type === 'CHARGE' ? event.amount : 0 - event.amount)

export const evolve = (state: PointState, event: PointEvent): PointState => ({
  balance: state.balance + delta(event),
  version: state.version + 1,
})

export type Decide = (command: Command, state: PointState, timeMillis: number) => E.Either<Rejection, PointEvent[]>

/** The rules, given the configured limits. Pure: no clock, no I/O. */
export const decider = (limits: Limits): Decide => (command, state, timeMillis) => {
  const { userId, amount } = command
  if (amount > limits.maxAmount) {
    return E.left(rejection('AMOUNT_LIMIT_EXCEEDED', `amount ${amount} is over the per-transaction limit of ${limits.maxAmount}`))
  }
  switch (command.type) {
    case 'Charge':
      if (state.balance + amount > limits.maxBalance) {
        return E.left(
          rejection('BALANCE_LIMIT_EXCEEDED', `balance ${state.balance} plus ${amount} would exceed the maximum of ${limits.maxBalance}`),
        )
      }
      return E.right([{ type: 'CHARGE', userId, amount, timeMillis }])
    case 'Use':
      if (state.balance - amount < 0) {
        return E.left(rejection('INSUFFICIENT_BALANCE', `balance ${state.balance} is less than ${amount}`))
      }
      return E.right([{ type: 'USE', userId, amount, timeMillis }])
    default:
      // A new command type fails to compile here until it has its rules.
      return absurd<ReturnType<Decide>>(command)
  }
}
