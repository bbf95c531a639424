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
}

/** One row of the balance projection. */
export interface ProjectionRow {
  readonly userId: UserId
  readonly point: number
  readonly version?: number
}

export type Finding =
  | { readonly kind: 'NEGATIVE_BALANCE'; readonly userId: UserId; readonly eventId: number; readonly balance: number }
  | { readonly kind: 'OVER_MAXIMUM'; readonly userId: UserId; readonly eventId: number; readonly balance: number }
  | { readonly kind: 'OUT_OF_ORDER'; readonly userId: UserId; readonly eventId: number; readonly detail: string }
  | { readonly kind: 'BAD_EVENT'; readonly userId: UserId; readonly eventId: number; readonly detail: string }
  | { readonly kind: 'PROJECTION_MISMATCH'; readonly userId: UserId; readonly projected: string; readonly replayed: string }
  | { readonly kind: 'DUPLICATE_KEY'; readonly userId: UserId; readonly key: string; readonly count: number }
  | { readonly kind: 'BALANCE_AFTER_MISMATCH'; readonly userId: UserId; readonly eventId: number; readonly stored: number; readonly replayed: number }

interface Replayed {
  balance: number
  version: number
  lastId: number
  lastVersion: number
  lastTime: number
}

const describe = (point: number, version?: number): string =>
  version === undefined ? `point ${point}` : `point ${point} at version ${version}`

/**
 * Replays a log one event at a time, keeping a running balance per user only,
 * so memory grows with users and never with events. Feed every event in log
 * order, then every projection row, then read the findings.
 */
export class Auditor {
  readonly findings: Finding[] = []
  private readonly users = new Map<UserId, Replayed>()
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
    user.balance += delta(entry)
    user.version++
    if (entry.balanceAfter !== undefined && entry.balanceAfter !== user.balance) {
      this.findings.push({ kind: 'BALANCE_AFTER_MISMATCH', userId: entry.userId, eventId: entry.id, stored: entry.balanceAfter, replayed: user.balance })
    }
    if (user.balance < 0) {
      this.findings.push({ kind: 'NEGATIVE_BALANCE', userId: entry.userId, eventId: entry.id, balance: user.balance })
    } else if (user.balance > this.limits.maxBalance) {
      this.findings.push({ kind: 'OVER_MAXIMUM', userId: entry.userId, eventId: entry.id, balance: user.balance })
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

  duplicateKey(userId: UserId, key: string, count: number): void {
    this.findings.push({ kind: 'DUPLICATE_KEY', userId, key, count })
  }

  /** The state the log implies for each user, for rebuilding the projection. */
  replayed(): Array<{ readonly userId: UserId; readonly balance: number; readonly version: number }> {
    return [...this.users].map(([userId, { balance, version }]) => ({ userId, balance, version }))
  }

  private checkOrder(user: Replayed, entry: LogEntry): void {
    if (entry.id <= user.lastId) {
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
