import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as t from 'io-ts'
import { DecimalIntFromString, decimalIntIn, withDefault } from '../codecs'
import { FeedPositionFromString, feedStart } from '../events/feed'
import { Amount, IdempotencyKey, idempotencyKeyRule, UserId } from '../events/model'
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
    // Plain steps rather than a pipeline: every command's body comes through here (docs/performance.md).
    (u, c) => {
      const validated = open.validate(u, c)
      if (E.isLeft(validated)) return validated
      const unknown = Object.keys(validated.right).some((key) => !Object.hasOwn(props, key))
      // The unknown names are the client's text, so only the known ones are named.
      return unknown ? t.failure(u, c, `fields other than ${Object.keys(props).join(', ')} are not allowed`) : validated
    },
    open.encode,
  )
}

/** The body of `PATCH /point/{id}/charge` and `/use`. */
export const AmountBody = closed({ amount: Amount }, 'AmountBody')
export type AmountBody = t.TypeOf<typeof AmountBody>

/** A history id or a hold id: a positive safe integer. */
const PositiveId = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 1, 'PositiveId')

/** The body of `PATCH /point/{id}/refund`: which use, by its history id, and how much of it. */
export const RefundBody = closed({ useId: PositiveId, amount: Amount }, 'RefundBody')
export type RefundBody = t.TypeOf<typeof RefundBody>

/** Whole seconds a hold lasts: a positive safe integer; over the configured maximum is the decider's to refuse. */
export const TtlSeconds = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 1 && n <= Number.MAX_SAFE_INTEGER / 1000, 'TtlSeconds')

/** The body of `PATCH /point/{id}/hold`: without `ttlSeconds`, the configured default. */
export const HoldBody = closed({ amount: Amount, ttlSeconds: t.union([TtlSeconds, t.undefined]) }, 'HoldBody')
export type HoldBody = t.TypeOf<typeof HoldBody>

/** The body of `PATCH /point/{id}/holds/{holdId}/capture`: without `amount`, the whole hold. */
export const CaptureBody = closed({ amount: t.union([Amount, t.undefined]) }, 'CaptureBody')
export type CaptureBody = t.TypeOf<typeof CaptureBody>

/** The body of `PATCH /point/{id}/holds/{holdId}/release`, when one is sent: a release takes the whole hold, so nothing. */
export const ReleaseBody = closed({}, 'ReleaseBody')

/** `/point/{id}/holds/{holdId}`: a decimal positive safe integer. */
export const HoldIdParam = DecimalIntFromString.pipe(PositiveId, 'HoldIdParam')

/** The bounds and defaults of `?limit=&after=` on `GET /point/{id}/histories`; the API document states them from here. */
export const pageBounds = {
  limit: { minimum: 1, maximum: 10_000, default: 1_000 },
  after: { minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 },
} as const

const bounded = ({ minimum, maximum, default: fallback }: { minimum: number; maximum: number; default: number }) =>
  withDefault(decimalIntIn(minimum, maximum), fallback)

/** `?limit=&after=`: a page of at most `limit` events with ids above `after`. */
export const HistoryPageQuery = t.type({ limit: bounded(pageBounds.limit), after: bounded(pageBounds.after) })
export type HistoryPageQuery = t.TypeOf<typeof HistoryPageQuery>

// The latest instant a JavaScript Date holds; epoch milliseconds past it could not be written back as a date.
export const latestInstant = 8_640_000_000_000_000

// Four-digit years only (no expanded ±YYYYYY), upper-case T and Z, and seconds optional.
const wallClock = String.raw`(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?`
const offset = String.raw`(Z|[+-]\d{2}:\d{2})`
// The offset is optional here only so that its absence gets a message of its own.
const dateTime = new RegExp(`^${wallClock}${offset}?$`)
const bareDate = /^\d{4}-\d{2}-\d{2}$/

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const daysInMonth = (year: number, month: number): number =>
  month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31

/** Minutes east of UTC that `Z` or `±hh:mm` names, or undefined when it is no real offset. */
const offsetMinutes = (offset: string): number | undefined => {
  if (offset === 'Z') return 0
  const hours = Number(offset.slice(1, 3))
  const minutes = Number(offset.slice(4, 6))
  if (hours > 23 || minutes > 59) return undefined
  return (offset.startsWith('-') ? -1 : 1) * (hours * 60 + minutes)
}

/** A date-time's epoch milliseconds, or why it names no instant; digits past the millisecond are dropped. */
const dateTimeMillis = (text: string): number | string => {
  const parts = dateTime.exec(text)
  if (parts === null) return bareDate.test(text) ? 'a date alone names a day, not an instant: send a date-time with its offset' : 'expected epoch milliseconds or an ISO-8601 date-time with its offset'
  const [, year, month, day, hour, minute, second = '0', fraction = '', offset] = parts.map((part) => part ?? undefined)
  if (offset === undefined) return 'a date-time needs its offset, such as Z or +09:00'
  const [y, mo, d, h, mi, sec] = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number]
  const east = offsetMinutes(offset)
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59 || east === undefined) {
    return 'not a real calendar date and time'
  }
  // setUTCFullYear, because Date.UTC reads years 0 to 99 as 1900 to 1999.
  const wall = new Date(0)
  wall.setUTCFullYear(y, mo - 1, d)
  wall.setUTCHours(h, mi, sec, Number(fraction.padEnd(3, '0').slice(0, 3)))
  return wall.getTime() - east * 60_000
}

const epochMillis = decimalIntIn(0, latestInstant)

/**
 * The text `?at=` takes, as a JSON Schema pattern for the API document: epoch milliseconds or a date-time with its
 * offset. The calendar and the range are checked by the codec alone.
 */
export const instantPattern = `^(?:0|[1-9][0-9]*|${wallClock}${offset})$`

/** `?at=`: an instant from 1970 on, as epoch milliseconds or an ISO-8601 date-time with its offset. */
export const InstantParam = new t.Type<number, string, unknown>(
  'Instant',
  (u): u is number => Number.isSafeInteger(u) && (u as number) >= 0 && (u as number) <= latestInstant,
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c, 'expected one epoch milliseconds value or ISO-8601 date-time')
    if (/^[0-9]+$/.test(u)) return epochMillis.validate(u, c)
    const millis = dateTimeMillis(u)
    if (typeof millis === 'string') return t.failure(u, c, millis)
    return millis >= 0 ? t.success(millis) : t.failure(u, c, 'instants before 1970-01-01T00:00:00Z are refused')
  },
  (n) => new Date(n).toISOString(),
)

/** The header's text as a JSON Schema pattern: key characters with at least one that is not a space. */
export const idempotencyKeyHeaderPattern = `^ *[\\x21-\\x7E][${idempotencyKeyRule.characters}]*$`

/** `Idempotency-Key`: an IdempotencyKey that is not all blank; an empty header is a mistake, not "no key". */
export const IdempotencyKeyHeader = new t.Type<IdempotencyKey, string, unknown>(
  'IdempotencyKeyHeader',
  IdempotencyKey.is,
  (u, c) =>
    typeof u === 'string' && u.trim() === ''
      ? t.failure(u, c, 'must not be empty or blank')
      : pipe(
        IdempotencyKey.validate(u, c),
        E.orElse(() => t.failure<IdempotencyKey>(u, c, 'expected 1 to 255 printable ASCII characters')),
      ),
  t.identity,
)

const branches = (type: t.Decoder<unknown, unknown> | undefined): boolean =>
  type instanceof t.UnionType || type instanceof t.IntersectionType

/**
 * Where each failure is and why, never the value: a request's values may be secrets, and io-ts-reporters'
 * messages quote them. The path is made of the codecs' own field names, so no client text is repeated.
 */
const describeRefusal = (what: string, errors: t.Errors): string => {
  const lines = errors.map(({ context, message }) => {
    const fields = context.filter(({ key }, index) => key !== '' && !branches(context[index - 1]?.type)).map(({ key }) => key)
    const reason = message ?? `expected ${context[context.length - 1]?.type.name ?? 'another value'}`
    return `${[what, ...fields].join('.')}: ${reason}`
  })
  return [...new Set(lines)].join('; ')
}

/** Decodes one part of a request, naming it in the 400 that a failure becomes. */
export const decode =
  <A>(codec: t.Decoder<unknown, A>, what: string) =>
  (input: unknown): E.Either<Problem, A> => {
    const decoded = codec.decode(input)
    return E.isLeft(decoded) ? E.left(problem('INVALID_REQUEST', describeRefusal(what, decoded.left))) : decoded
  }

/** The bounds and default of `?limit=` on `GET /events`; the API document states them from here. */
export const feedPageBounds = { limit: { minimum: 1, maximum: 10_000, default: 1_000 } } as const

/** `?after=&limit=` on `GET /events`: at most `limit` events after a position, from the start when none is given. */
export const FeedPageQuery = t.type({ after: withDefault(FeedPositionFromString, feedStart), limit: bounded(feedPageBounds.limit) })
export type FeedPageQuery = t.TypeOf<typeof FeedPageQuery>

/** `Last-Event-ID` on `GET /events/stream`: the position of the last event the client received. */
export const LastEventIdHeader = FeedPositionFromString
