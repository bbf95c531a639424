import { delta, type Limits } from '../events/decider'
import type { StoredEvent, UserId } from '../events/model'

/** One row of the log as an audit reads it; `version` where the store keeps one. */
export interface LogEntry extends Pick<StoredEvent, 'id' | 'userId' | 'type' | 'amount'> {
  readonly version?: number
  /** The balance stored with the event, where the store keeps one for point-in-time reads. */
  readonly balanceAfter?: number
  /** Given by stores that look a point-in-time balance up by time, which rely on a user's times never going back. */
  readonly timeMillis?: number
  /** Set when the stored row is not a valid event (a corrupt type or amount), saying why; it then moves no points. */
  readonly invalid?: string
  /** What a REFUND, HOLD, CAPTURE, RELEASE or EXPIRE links to: the use's id, or the hold's. */
  readonly ref?: number
  /** A HOLD's expiry. */
  readonly expiresAt?: number
  /** When the event was decided, from stores that do not give `timeMillis`: what expiry is judged by. */
  readonly decidedAt?: number
  /** An event the given tables cannot hold, kept beside them: it has no row id of its own. */
  readonly beside?: boolean
  /** A REFUND's use's amount, when `ref` is a USE of the same user; absent, it refunds no use of theirs. */
  readonly useAmount?: number
}

/** One row of the balance projection. */
export interface ProjectionRow {
  readonly userId: UserId
  readonly point: number
  readonly version?: number
}

/** One row of the holds table, which SQL stores keep from the log by trigger: a hold no event has resolved yet. */
export interface HoldsRow {
  readonly userId: UserId
  readonly holdId: number
  readonly amount: number
  readonly expiresAt: number
  readonly placedAt: number
}

/** A hold the log leaves unresolved, as a rebuild writes it back. */
export type ReplayedHold = Omit<HoldsRow, 'userId'>

/** What the log implies for one user: the projection row, and the holds its events leave unresolved. */
export interface ReplayedState {
  readonly userId: UserId
  readonly balance: number
  readonly version: number
  readonly holds: readonly ReplayedHold[]
}

export type Finding =
  | { readonly kind: 'NEGATIVE_BALANCE'; readonly userId: UserId; readonly eventId: number; readonly balance: number }
  | { readonly kind: 'OVER_MAXIMUM'; readonly userId: UserId; readonly eventId: number; readonly balance: number }
  | { readonly kind: 'OUT_OF_ORDER'; readonly userId: UserId; readonly eventId: number; readonly detail: string }
  | { readonly kind: 'BAD_EVENT'; readonly userId: UserId; readonly eventId: number; readonly detail: string }
  | { readonly kind: 'PROJECTION_MISMATCH'; readonly userId: UserId; readonly projected: string; readonly replayed: string }
  | { readonly kind: 'DUPLICATE_KEY'; readonly userId: UserId; readonly key: string; readonly count: number }
  | { readonly kind: 'BALANCE_AFTER_MISMATCH'; readonly userId: UserId; readonly eventId: number; readonly stored: number; readonly replayed: number }
  | { readonly kind: 'REFUND_OVER_USE'; readonly userId: UserId; readonly eventId: number; readonly useId: number; readonly refunded: number; readonly used: number }
  | { readonly kind: 'HOLD_RESOLVED_TWICE'; readonly userId: UserId; readonly eventId: number; readonly holdId: number }
  | { readonly kind: 'CAPTURE_OVER_HOLD'; readonly userId: UserId; readonly eventId: number; readonly holdId: number; readonly captured: number; readonly held: number }
  | { readonly kind: 'NEGATIVE_AVAILABLE'; readonly userId: UserId; readonly eventId: number; readonly available: number }
  | { readonly kind: 'HOLD_ROW_MISMATCH'; readonly userId: UserId; readonly holdId: number; readonly stored: string; readonly replayed: string }

interface Replayed {
  balance: number
  version: number
  lastId: number
  lastVersion: number
  lastTime: number
  /** Active holds: what each reserves, until when, and when it was placed. */
  holds?: Map<number, { amount: number; expiresAt: number; placedAt: number }>
  /** Holds resolved, to find a second resolution. */
  ended?: Set<number>
  /** What refunds have given back of each use refunded so far. */
  refunded?: Map<number, number>
}

/** What active holds reserve at `at`: a hold past its expiry reserves nothing; without a time, all of them. */
const held = (user: Replayed, at: number | undefined): number => {
  let sum = 0
  for (const hold of user.holds?.values() ?? []) if (at === undefined || hold.expiresAt > at) sum += hold.amount
  return sum
}

const describe = (point: number, version?: number): string =>
  version === undefined ? `point ${point}` : `point ${point} at version ${version}`

const describeHold = ({ amount, expiresAt, placedAt }: Omit<ReplayedHold, 'holdId'>): string => `amount ${amount}, expires ${expiresAt}, placed ${placedAt}`

const holdKey = (userId: UserId, holdId: number): string => `${userId}:${holdId}`

/**
 * Replays a log one event at a time, keeping a running balance per user, and of
 * the links only what refunds and holds need (refunded uses, holds), so memory
 * grows with users, holds and refunded uses, never with charges and uses. Feed every event in log
 * order, then every projection row, then read the findings.
 */
export class Auditor {
  readonly findings: Finding[] = []
  private readonly users = new Map<UserId, Replayed>()
  /** The active holds a holds-table row has been compared with: the rest have no row. */
  private readonly holdRows = new Set<string>()
  private eventCount = 0

  constructor(private readonly limits: Limits) {}

  get events(): number {
    return this.eventCount
  }

  get userCount(): number {
    return this.users.size
  }

  event(entry: LogEntry): void {
    this.eventCount++
    const user = this.users.get(entry.userId) ?? { balance: 0, version: 0, lastId: 0, lastVersion: 0, lastTime: Number.NEGATIVE_INFINITY }
    this.users.set(entry.userId, user)
    this.checkOrder(user, entry)
    if (entry.invalid !== undefined) {
      this.findings.push({ kind: 'BAD_EVENT', userId: entry.userId, eventId: entry.id, detail: entry.invalid })
      user.version++
      return
    }
    if (!Number.isSafeInteger(entry.amount) || entry.amount <= 0) {
      this.findings.push({ kind: 'BAD_EVENT', userId: entry.userId, eventId: entry.id, detail: `amount ${entry.amount}` })
    }
    this.checkLinks(user, entry)
    user.balance += delta(entry)
    user.version++
    if (entry.balanceAfter !== undefined && entry.balanceAfter !== user.balance) {
      this.findings.push({ kind: 'BALANCE_AFTER_MISMATCH', userId: entry.userId, eventId: entry.id, stored: entry.balanceAfter, replayed: user.balance })
    }
    const available = user.balance - held(user, entry.timeMillis ?? entry.decidedAt)
    if (user.balance < 0) {
      this.findings.push({ kind: 'NEGATIVE_BALANCE', userId: entry.userId, eventId: entry.id, balance: user.balance })
    } else if (available < 0) {
      this.findings.push({ kind: 'NEGATIVE_AVAILABLE', userId: entry.userId, eventId: entry.id, available })
    } else if (user.balance > this.limits.maxBalance && entry.type === 'CHARGE') {
      // A refund may take the balance past the maximum: it gives back points the user held.
      this.findings.push({ kind: 'OVER_MAXIMUM', userId: entry.userId, eventId: entry.id, balance: user.balance })
    }
  }

  /** A refund within its use, a hold placed once and resolved once, a capture within its hold. */
  private checkLinks(user: Replayed, entry: LogEntry): void {
    const { userId, id: eventId, ref } = entry
    const bad = (detail: string): void => void this.findings.push({ kind: 'BAD_EVENT', userId, eventId, detail })
    if (entry.type === 'CHARGE' || entry.type === 'USE') return
    if (ref === undefined) return bad(`${entry.type} without the id it links to`)
    switch (entry.type) {
      case 'REFUND': {
        if (entry.useAmount === undefined) return bad(`refund of event ${ref}, which is not a use of this user`)
        user.refunded ??= new Map()
        const refunded = (user.refunded.get(ref) ?? 0) + entry.amount
        user.refunded.set(ref, refunded)
        if (refunded > entry.useAmount) this.findings.push({ kind: 'REFUND_OVER_USE', userId, eventId, useId: ref, refunded, used: entry.useAmount })
        return
      }
      case 'HOLD':
        user.holds ??= new Map()
        if (user.holds.has(ref) || user.ended?.has(ref) === true) return bad(`hold ${ref} placed twice`)
        user.holds.set(ref, { amount: entry.amount, expiresAt: entry.expiresAt ?? Number.POSITIVE_INFINITY, placedAt: entry.timeMillis ?? entry.decidedAt ?? 0 })
        return
      default: {
        if (user.ended?.has(ref) === true) return void this.findings.push({ kind: 'HOLD_RESOLVED_TWICE', userId, eventId, holdId: ref })
        const hold = user.holds?.get(ref)
        if (hold === undefined) return bad(`${entry.type} of hold ${ref}, which this user never placed`)
        if (entry.type === 'CAPTURE' && entry.amount > hold.amount) {
          this.findings.push({ kind: 'CAPTURE_OVER_HOLD', userId, eventId, holdId: ref, captured: entry.amount, held: hold.amount })
        }
        user.holds?.delete(ref)
        user.ended ??= new Set()
        user.ended.add(ref)
      }
    }
  }

  /** Compares a projection row with the log; call once per row, after every event. */
  projection(row: ProjectionRow): void {
    const user = this.users.get(row.userId)
    const balance = user?.balance ?? 0
    const version = user?.version ?? 0
    if (row.point !== balance || (row.version !== undefined && row.version !== version)) {
      this.findings.push({
        kind: 'PROJECTION_MISMATCH',
        userId: row.userId,
        projected: describe(row.point, row.version),
        replayed: describe(balance, row.version === undefined ? undefined : version),
      })
    }
  }

  /** A user with events but no projection row is a mismatch too. */
  missingProjections(seen: ReadonlySet<UserId>): void {
    for (const [userId, user] of this.users) {
      if (!seen.has(userId)) {
        this.findings.push({ kind: 'PROJECTION_MISMATCH', userId, projected: 'no row', replayed: describe(user.balance, user.version) })
      }
    }
  }

  /**
   * Compares a holds-table row with the hold the log leaves unresolved; call once per row, after every event. A row
   * the log does not explain (the hold never placed, or resolved) is as wrong as one with another amount or time.
   */
  holdRow(row: HoldsRow): void {
    const hold = this.users.get(row.userId)?.holds?.get(row.holdId)
    const stored = describeHold(row)
    if (hold !== undefined) this.holdRows.add(holdKey(row.userId, row.holdId))
    const replayed = hold === undefined ? 'no active hold' : describeHold(hold)
    if (stored !== replayed) this.findings.push({ kind: 'HOLD_ROW_MISMATCH', userId: row.userId, holdId: row.holdId, stored, replayed })
  }

  /** An active hold with no holds-table row is a mismatch too; call once, after every row. */
  missingHoldRows(): void {
    for (const [userId, user] of this.users) {
      for (const [holdId, hold] of user.holds ?? []) {
        if (!this.holdRows.has(holdKey(userId, holdId))) {
          this.findings.push({ kind: 'HOLD_ROW_MISMATCH', userId, holdId, stored: 'no row', replayed: describeHold(hold) })
        }
      }
    }
  }

  duplicateKey(userId: UserId, key: string, count: number): void {
    this.findings.push({ kind: 'DUPLICATE_KEY', userId, key, count })
  }

  /** The state the log implies for each user, for rebuilding the projection and the holds table. */
  replayed(): ReplayedState[] {
    return [...this.users].map(([userId, { balance, version, holds }]) => ({
      userId,
      balance,
      version,
      holds: [...(holds ?? [])].map(([holdId, hold]) => ({ holdId, ...hold })),
    }))
  }

  private checkOrder(user: Replayed, entry: LogEntry): void {
    // An event kept beside the given tables shares the id of the row before it.
    if (entry.beside === true ? entry.id < user.lastId : entry.id <= user.lastId) {
      this.findings.push({ kind: 'OUT_OF_ORDER', userId: entry.userId, eventId: entry.id, detail: `id ${entry.id} after ${user.lastId}` })
    }
    if (entry.version !== undefined && entry.version !== user.lastVersion + 1) {
      this.findings.push({
        kind: 'OUT_OF_ORDER',
        userId: entry.userId,
        eventId: entry.id,
        detail: `version ${entry.version} after ${user.lastVersion}`,
      })
    }
    // A point-in-time read takes the last event at or before a moment: an earlier time after a later one breaks it.
    // An event without a time is never out of time order.
    if ((entry.timeMillis ?? Number.POSITIVE_INFINITY) < user.lastTime) {
      this.findings.push({
        kind: 'OUT_OF_ORDER',
        userId: entry.userId,
        eventId: entry.id,
        detail: `time ${entry.timeMillis} after ${user.lastTime}`,
      })
    }
    user.lastId = entry.id
    user.lastVersion = entry.version ?? user.lastVersion + 1
    user.lastTime = entry.timeMillis ?? user.lastTime
  }
}
