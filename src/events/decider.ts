import * as E from 'fp-ts/Either'
import { absurd } from 'fp-ts/function'
import { amountOf, rejection, type Amount, type Command, type EndingType, type PointEvent, type Rejection } from './model'

export interface Limits {
  /** Largest amount one command may move. */
  readonly maxAmount: number
  /** Largest balance a charge may leave; a refund is not held to it, as it gives back points the user held. */
  readonly maxBalance: number
  /** Longest a hold may last; one day unless configured. */
  readonly maxHoldTtlMillis?: number
  /** How long a hold lasts when its command names no ttl; 15 minutes unless configured. */
  readonly defaultHoldTtlMillis?: number
  /** Most holds one user may have active at once; 100 unless configured. */
  readonly maxActiveHolds?: number
}

export const defaultMaxHoldTtlMillis = 86_400_000
export const defaultHoldTtlMillis = 900_000
// Each active hold is carried in the user's state and answered whole by GET /holds: the cap bounds both.
export const defaultMaxActiveHolds = 100

/** An active hold: points reserved until `expiresAt`, when it counts as released whether or not that is recorded. */
export interface ActiveHold {
  readonly amount: Amount
  readonly expiresAt: number
}

/** What the decider needs to know about a user: the fold of their events. */
export interface PointState {
  readonly balance: number
  /** How many events the user has; the next event gets version + 1. */
  readonly version: number
  /** The holds not yet captured, released or recorded as expired, by id; absent when there are none. */
  readonly holds?: ReadonlyMap<number, ActiveHold>
}

export const initialState: PointState = { balance: 0, version: 0 }

/** A use a refund names, as the store found it: its amount and what refunds have given back of it so far. */
export interface UseRecord {
  readonly amount: number
  readonly refunded: number
}

/**
 * What a batch's commands name beyond the state: only what they name is loaded, so the state stays small.
 * `uses`: the user's USE events that refunds name (one not here is not this user's use). `ended`: how the holds
 * that captures and releases name ended, when they are not active (one in neither place was never placed).
 */
export interface References {
  readonly uses: ReadonlyMap<number, UseRecord>
  readonly ended: ReadonlyMap<number, EndingType>
}

export const noReferences: References = { uses: new Map(), ended: new Map() }

/** How an event moves the balance: points in, points out, or none (a hold reserves, it does not move). */
export const delta = (event: Pick<PointEvent, 'type' | 'amount'>): number => {
  switch (event.type) {
    case 'CHARGE':
    case 'REFUND':
      return event.amount
    case 'USE':
    case 'CAPTURE':
      return 0 - event.amount
    default:
      return 0
  }
}

const withHolds = (holds: Map<number, ActiveHold>): Pick<PointState, 'holds'> => (holds.size === 0 ? {} : { holds })

export const evolve = (state: PointState, event: PointEvent): PointState => {
  const next = { balance: state.balance + delta(event), version: state.version + 1 }
  if (event.type === 'HOLD') {
    const holds = new Map(state.holds ?? [])
    holds.set(event.ref ?? next.version, { amount: event.amount, expiresAt: event.expiresAt ?? Number.POSITIVE_INFINITY })
    return { ...next, holds }
  }
  if (event.type === 'CAPTURE' || event.type === 'RELEASE' || event.type === 'EXPIRE') {
    const holds = new Map(state.holds ?? [])
    holds.delete(event.ref ?? 0)
    return { ...next, ...withHolds(holds) }
  }
  return state.holds === undefined ? next : { ...next, holds: state.holds }
}

/** What these holds reserve at `now`: a hold at or past its expiry reserves nothing. */
export const heldOf = (holds: Iterable<{ readonly amount: number; readonly expiresAt: number }>, now: number): number => {
  let held = 0
  for (const hold of holds) if (hold.expiresAt > now) held += hold.amount
  return held
}

/** How many of the user's holds are active at `now`: an expired one counts as released, recorded or not. */
const activeHoldCount = (state: PointState, now: number): number => {
  let active = 0
  for (const hold of state.holds?.values() ?? []) if (hold.expiresAt > now) active++
  return active
}

/** What the user's active holds reserve at `now`. */
export const heldAt = (state: PointState, now: number): number => heldOf(state.holds?.values() ?? [], now)

/** What the references become once `event` is decided, so later commands of the same batch see it. */
export const evolveReferences = (refs: References, event: PointEvent): References => {
  if (event.type === 'REFUND' && event.ref !== undefined) {
    const use = refs.uses.get(event.ref)
    if (use === undefined) return refs
    return { ...refs, uses: new Map(refs.uses).set(event.ref, { ...use, refunded: use.refunded + event.amount }) }
  }
  if ((event.type === 'CAPTURE' || event.type === 'RELEASE' || event.type === 'EXPIRE') && event.ref !== undefined) {
    return { ...refs, ended: new Map(refs.ended).set(event.ref, event.type) }
  }
  return refs
}

export type Decide = (command: Command, state: PointState, timeMillis: number, refs?: References) => E.Either<Rejection, PointEvent[]>

const endedAs: Record<EndingType, string> = { CAPTURE: 'captured', RELEASE: 'released', EXPIRE: 'expired' }

/**
 * The hold a capture or release names, if it can still be resolved at `now`: else why not. One that expired
 * counts as resolved by its expiry from that moment, recorded or not, so it loses to it as to any other resolution.
 */
const activeHold = (state: PointState, refs: References, holdId: number, now: number): E.Either<Rejection, ActiveHold> => {
  const hold = state.holds?.get(holdId)
  if (hold !== undefined) {
    return hold.expiresAt > now ? E.right(hold) : E.left(rejection('HOLD_ALREADY_RESOLVED', `hold ${holdId} expired at ${new Date(hold.expiresAt).toISOString()}`))
  }
  const ended = refs.ended.get(holdId)
  return E.left(
    ended === undefined
      ? rejection('HOLD_NOT_FOUND', `this user has no hold ${holdId}`)
      : rejection('HOLD_ALREADY_RESOLVED', `hold ${holdId} was already ${endedAs[ended]}`),
  )
}

/** The rules, given the configured limits. Pure: the time and what the commands name are passed in. */
export const decider = (limits: Limits): Decide => (command, state, timeMillis, refs = noReferences) => {
  const { userId } = command
  const amount = amountOf(command)
  if (amount !== undefined && amount > limits.maxAmount) {
    return E.left(rejection('AMOUNT_LIMIT_EXCEEDED', `amount ${amount} is over the per-transaction limit of ${limits.maxAmount}`))
  }
  const held = heldAt(state, timeMillis)
  const available = state.balance - held
  const short = (what: number) =>
    rejection('INSUFFICIENT_BALANCE', held === 0 ? `balance ${state.balance} is less than ${what}` : `available ${available} (balance ${state.balance}, held ${held}) is less than ${what}`)
  switch (command.type) {
    case 'Charge':
      if (state.balance + command.amount > limits.maxBalance) {
        return E.left(
          rejection('BALANCE_LIMIT_EXCEEDED', `balance ${state.balance} plus ${command.amount} would exceed the maximum of ${limits.maxBalance}`),
        )
      }
      return E.right([{ type: 'CHARGE', userId, amount: command.amount, timeMillis }])
    case 'Use':
      if (available - command.amount < 0) return E.left(short(command.amount))
      return E.right([{ type: 'USE', userId, amount: command.amount, timeMillis }])
    case 'Refund': {
      const use = refs.uses.get(command.useId)
      if (use === undefined) return E.left(rejection('USE_NOT_FOUND', `event ${command.useId} is not a use of this user`))
      const left = use.amount - use.refunded
      if (command.amount > left) {
        return E.left(
          rejection('REFUND_EXCEEDS_USE', `use ${command.useId} of ${use.amount} has ${use.refunded} refunded already: at most ${left} more can be refunded`),
        )
      }
      return E.right([{ type: 'REFUND', userId, amount: command.amount, timeMillis, ref: command.useId }])
    }
    case 'Hold': {
      const maxTtl = limits.maxHoldTtlMillis ?? defaultMaxHoldTtlMillis
      if (command.ttlMillis > maxTtl) {
        return E.left(rejection('HOLD_TTL_EXCEEDED', `ttl of ${command.ttlMillis / 1000} s is over the maximum of ${maxTtl / 1000} s`))
      }
      const maxActive = limits.maxActiveHolds ?? defaultMaxActiveHolds
      const active = activeHoldCount(state, timeMillis)
      if (active >= maxActive) {
        return E.left(rejection('TOO_MANY_HOLDS', `this user has ${active} active holds and at most ${maxActive} are allowed: capture or release one first`))
      }
      if (available - command.amount < 0) return E.left(short(command.amount))
      const hold: PointEvent = { type: 'HOLD', userId, amount: command.amount, timeMillis, ref: state.version + 1, expiresAt: timeMillis + command.ttlMillis }
      return E.right([hold])
    }
    case 'Capture':
      return E.flatMap((hold: ActiveHold): E.Either<Rejection, PointEvent[]> => {
        const taken = command.amount ?? hold.amount
        if (taken > hold.amount) {
          return E.left(rejection('CAPTURE_EXCEEDS_HOLD', `hold ${command.holdId} is of ${hold.amount}: ${taken} cannot be captured from it`))
        }
        // One event ends the hold: what it does not capture is freed with it.
        return E.right([{ type: 'CAPTURE', userId, amount: taken, timeMillis, ref: command.holdId }])
      })(activeHold(state, refs, command.holdId, timeMillis))
    case 'Release':
      return E.map((hold: ActiveHold): PointEvent[] => [{ type: 'RELEASE', userId, amount: hold.amount, timeMillis, ref: command.holdId }])(
        activeHold(state, refs, command.holdId, timeMillis),
      )
    case 'Expire': {
      // The sweeper's record of what already holds: nothing to write for a hold that is gone or not yet due.
      const hold = state.holds?.get(command.holdId)
      if (hold === undefined || hold.expiresAt > timeMillis) return E.right([])
      return E.right([{ type: 'EXPIRE', userId, amount: hold.amount, timeMillis, ref: command.holdId }])
    }
    default:
      // A new command type fails to compile here until it has its rules.
      return absurd<ReturnType<Decide>>(command)
  }
}
