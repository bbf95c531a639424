import Sqlite, { type Database } from 'better-sqlite3'
import * as E from 'fp-ts/Either'
import { storeUnavailable } from '../../events/store'
import { balanceBefore } from '../sql/balance-after'
import { accepted, conflicted, type AppendJob, type Appended, type Commit } from '../sql/rows'
import type { Catalogue } from './catalogue'

export interface CommitOptions {
  readonly clock: () => number
  /** A receipt older than this at commit time is past its window, and its key free again. */
  readonly receiptRetentionMillis: number
  readonly onCommit: (commit: Commit) => void
  /** Why the file at the store's path is no longer the one open, if it is not: then nothing is acknowledged. */
  readonly moved?: () => Error | undefined
}

/**
 * Writes jobs in one transaction and answers each: one fsync for them all. One job's
 * refusal leaves the others be; if the transaction cannot commit, none of them is applied.
 * A batch is first written without savepoints, which cost about an eighth of an append
 * (docs/performance.md, "The stack's floor"). A stale job writes nothing, so that is safe
 * until a job throws after some of its writes: then the batch is written again from the
 * start, each job in its own savepoint.
 */
export function committer(
  db: Database,
  sql: Catalogue,
  { clock, receiptRetentionMillis, onCommit, moved = () => undefined }: CommitOptions,
): (jobs: readonly AppendJob[]) => Appended[] {
  // A full disk or an I/O error is the file's, not a job's: the whole batch fails, as its commit would.
  const isBatchFault = (error: unknown): boolean => !db.inTransaction || isFileFault(error)

  // Nested inside `commitAll`, each append runs in its own savepoint.
  const appendOne = db.transaction((job: AppendJob, updateMillis: number) => write(sql, job, updateMillis, receiptRetentionMillis))

  /** One job inside the shared transaction: its failure is its own unless SQLite dropped the whole transaction. */
  const member = (job: AppendJob, updateMillis: number): Appended => {
    try {
      return appendOne(job, updateMillis)
    } catch (error) {
      if (isBatchFault(error)) throw error
      // Another writer recorded one of these keys first: like a version race, retried after a fresh read.
      if (isReceiptClash(error)) return conflicted(job)
      return E.left(storeUnavailable(error))
    }
  }
  const commitAll = db.transaction((jobs: readonly AppendJob[], updateMillis: number) => jobs.map((job) => member(job, updateMillis)))
  const commitPlain = db.transaction((jobs: readonly AppendJob[], updateMillis: number) =>
    jobs.map((job) => {
      try {
        return write(sql, job, updateMillis, receiptRetentionMillis)
      } catch (error) {
        if (isBatchFault(error)) throw error
        throw new MemberFailed()
      }
    }),
  )

  return (jobs) => {
    if (!db.open) return jobs.map(() => E.left(storeUnavailable(new Error('the store is closed'))))
    const refuse = (error: unknown) => {
      const fault = storeUnavailable(error)
      return jobs.map(() => E.left(fault))
    }
    const before = moved()
    if (before !== undefined) return refuse(before)
    const started = performance.now()
    const updateMillis = clock()
    let results: Appended[]
    try {
      results = commitPlain.immediate(jobs, updateMillis)
    } catch (error) {
      if (!(error instanceof MemberFailed)) return refuse(error)
      try {
        results = commitAll.immediate(jobs, updateMillis)
      } catch (again) {
        return refuse(again)
      }
    }
    // Outside the try: once committed, the callers must hear so, whatever the hook does.
    onCommit({ appends: jobs.length, millis: performance.now() - started })
    // Checked again after the commit: a file deleted meanwhile took this commit with it.
    const after = moved()
    return after === undefined ? results : refuse(after)
  }
}

function write(sql: Catalogue, job: AppendJob, updateMillis: number, receiptRetentionMillis: number): Appended {
  const { userId, expectedVersion, plan } = job
  // Compared, not decoded: a row that is not what this writer decided on is a conflict, read again and decoded then.
  const stored = sql.readLastEvent(userId) as { readonly version: number; readonly point: unknown } | undefined
  if ((stored?.version ?? 0) !== expectedVersion || (stored?.point ?? 0) !== balanceBefore(plan)) return conflicted(job)
  // The last event is the user's balance and version: nothing else to keep in step with it.
  sql.insertEvents(userId, expectedVersion, plan)
  // Thrown, so the savepoint takes back this job's events too.
  if (sql.insertReceipts(userId, plan.receipts, updateMillis, updateMillis - receiptRetentionMillis) < plan.receipts.length) throw new ReceiptClash()
  return accepted(job, updateMillis)
}

const isFileFault = (error: unknown): boolean =>
  error instanceof Sqlite.SqliteError && (error.code === 'SQLITE_FULL' || error.code.startsWith('SQLITE_IOERR'))

/** A job failed in a batch written without savepoints; the rollback took every job's writes back. */
class MemberFailed extends Error {}

/** One of the job's keys has a live receipt of the same user, recorded by another writer first. */
class ReceiptClash extends Error {}

const isReceiptClash = (error: unknown): boolean =>
  error instanceof ReceiptClash ||
  (error instanceof Sqlite.SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' && /receipts/.test(error.message))
