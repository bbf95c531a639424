import * as t from 'io-ts'
import type { PointEvent } from './model'

/**
 * Where an event sits in the change feed, across all users: ordered by `commit`, then by `event`. A store whose
 * commits are already in id order (SQLite, memory) leaves `commit` at 0; PostgreSQL puts the writing transaction's
 * id there, because its event ids are taken before commit and so are not in commit order.
 */
export interface FeedPosition {
  readonly commit: number
  readonly event: number
}

/** Before every event: where a feed read with no `after` starts. */
export const feedStart: FeedPosition = { commit: 0, event: 0 }

/**
 * The positions a store gives: `event` alone (SQLite, memory: `commit` always 0) or `commit-event` (PostgreSQL:
 * `commit` never 0). A position of the other form comes from another store, and means nothing to this one.
 */
export type PositionForm = 'event' | 'commit-event'

/** Whether a store whose positions have `form` could have given `position`; the start fits every store. */
export const fitsForm = (position: FeedPosition, form: PositionForm): boolean =>
  (position.commit === 0 && position.event === 0) || (form === 'event') === (position.commit === 0)

export const comparePositions = (a: FeedPosition, b: FeedPosition): number => a.commit - b.commit || a.event - b.event

/** A position as clients see it: `event`, or `commit-event` when the commit part is not 0. */
export const positionText = ({ commit, event }: FeedPosition): string => (commit === 0 ? String(event) : `${commit}-${event}`)

const positionPattern = /^(0|[1-9][0-9]{0,15})(?:-(0|[1-9][0-9]{0,15}))?$/

/** The text form of a position, each part a decimal safe integer without leading zeros. */
export const FeedPositionFromString = new t.Type<FeedPosition, string, unknown>(
  'FeedPosition',
  (u): u is FeedPosition => typeof u === 'object' && u !== null && 'commit' in u && 'event' in u,
  (u, c) => {
    const parts = typeof u === 'string' ? positionPattern.exec(u) : null
    if (parts === null) return t.failure(u, c, 'expected a feed position as a previous page or event gave it, such as 42 or 1290-42')
    const [first, second] = [Number(parts[1]), parts[2] === undefined ? undefined : Number(parts[2])]
    const position = second === undefined ? { commit: 0, event: first } : { commit: first, event: second }
    return Number.isSafeInteger(position.commit) && Number.isSafeInteger(position.event)
      ? t.success(position)
      : t.failure(u, c, 'each part of a feed position is a safe integer')
  },
  positionText,
)

/** The pattern of a position's text, for the API document. */
export const positionTextPattern = positionPattern.source

/**
 * An event as the feed carries it. Movements have their history id; HOLD, RELEASE and EXPIRE are listed in no
 * history, and the memory store keeps them beside its tables, where they have none.
 */
export type FeedEvent = PointEvent & { readonly id?: number }

/** One event of the feed and where it sits. */
export interface FeedEntry {
  readonly position: FeedPosition
  readonly event: FeedEvent
}

/** A page of the feed: at most `limit` entries after `after`, oldest first. */
export interface FeedQuery {
  readonly after: FeedPosition
  readonly limit: number
}
