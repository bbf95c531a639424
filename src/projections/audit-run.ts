import * as TE from 'fp-ts/TaskEither'
import type { Limits } from '../events/decider'
import type { UserId } from '../events/model'
import { storeUnavailable, type StoreUnavailable } from '../events/store'
import { Auditor, type Finding, type HoldsRow, type LogEntry, type ProjectionRow, type ReplayedState } from './audit'

/** Rows in arrays, read synchronously or not, as the store's driver does. */
export type Chunks<A> = AsyncIterable<readonly A[]> | Iterable<readonly A[]>

/** A user's key recorded more than once; keys are per user. */
export interface DuplicateKey {
  readonly userId: UserId
  readonly key: string
  readonly count: number
}

/** What a store lets an audit read: everything, streamed, plus a way to rebuild the tables it keeps beside the log. */
export interface AuditSource {
  /** Every event, or one user's, each user's in log order; in chunks, so a large log streams cheaply. */
  scanEvents(userId?: UserId): Chunks<LogEntry>
  /**
   * Optional, for stores that keep a balance projection beside the log: its rows, every user's or one user's, in
   * chunks. A store that reads a balance from the user's last event has none: the balance each event stores is what
   * it answers, and the audit checks it event by event (`BALANCE_AFTER_MISMATCH`).
   */
  scanProjections?(userId?: UserId): Chunks<ProjectionRow>
  /** (user, idempotency key) pairs stored more than once. */
  duplicateKeys(): AsyncIterable<DuplicateKey> | Iterable<DuplicateKey>
  /**
   * Optional, for stores that keep a holds table beside the log: its rows, every user's or one user's, in chunks.
   * Without it the store's holds are read from the log itself, and there is nothing to compare.
   */
  scanHolds?(userId?: UserId): Chunks<HoldsRow>
  /**
   * Replaces the projection and the holds table, those of them the store keeps, with these states, in one transaction
   * where the store has them: every user's rows, or with `userId`, that user's alone, as the audit read them.
   */
  rebuild(states: readonly ReplayedState[], userId?: UserId): Promise<void>
}

export interface AuditOptions {
  readonly userId?: UserId
  /** Write the replayed balances back into the projection, and the replayed holds into the holds table, where the store keeps them. */
  readonly rebuild?: boolean
  readonly clock?: () => number
}

export interface AuditReport {
  readonly users: number
  readonly events: number
  readonly seconds: number
  readonly eventsPerSecond: number
  readonly findings: readonly Finding[]
  /** The tables kept beside the log that the audit compared with it, and that a rebuild rewrites. */
  readonly compared: ReadonlyArray<'balances' | 'holds'>
  readonly rebuilt: boolean
}

/** Replays the log against the tables the store keeps beside it; a store failure is a value, findings are data. */
export const runAudit = (source: AuditSource, limits: Limits, options: AuditOptions = {}): TE.TaskEither<StoreUnavailable, AuditReport> =>
  TE.tryCatch(() => audit(source, limits, options), storeUnavailable)

async function audit(source: AuditSource, limits: Limits, options: AuditOptions): Promise<AuditReport> {
  const clock = options.clock ?? performance.now.bind(performance)
  const started = clock()
  const auditor = new Auditor(limits)
  for await (const chunk of source.scanEvents(options.userId)) {
    for (const entry of chunk) auditor.event(entry)
  }

  if (source.scanProjections !== undefined) {
    const seen = new Set<UserId>()
    for await (const chunk of source.scanProjections(options.userId)) {
      for (const row of chunk) {
        seen.add(row.userId)
        auditor.projection(row)
      }
    }
    auditor.missingProjections(seen)
  }
  if (options.userId === undefined) {
    for await (const { userId, key, count } of source.duplicateKeys()) auditor.duplicateKey(userId, key, count)
  }
  if (source.scanHolds !== undefined) {
    for await (const chunk of source.scanHolds(options.userId)) for (const row of chunk) auditor.holdRow(row)
    auditor.missingHoldRows()
  }
  if (options.rebuild === true) await source.rebuild(auditor.replayed(), options.userId)

  const seconds = (clock() - started) / 1000
  return {
    users: auditor.userCount,
    events: auditor.events,
    seconds,
    eventsPerSecond: seconds > 0 ? Math.round(auditor.events / seconds) : auditor.events,
    findings: auditor.findings,
    compared: [...(source.scanProjections === undefined ? [] : ['balances' as const]), ...(source.scanHolds === undefined ? [] : ['holds' as const])],
    rebuilt: options.rebuild === true,
  }
}
