import * as E from 'fp-ts/Either'
import type { Pool, PoolClient } from 'pg'
import type { PointState } from '../../events/decider'
import type { UserId } from '../../events/model'
import { storeUnavailable, type Locked, type Plan, type StoreFault } from '../../events/store'
import { accepted, conflicted, storeFault, type AppendJob, type Appended, type Commit } from '../sql/rows'
import { transaction, type Executor } from './pool'
import { claim } from './sql/claim'
import { claimAndWrite } from './sql/claim-and-write'
import { claimAndWriteAll } from './sql/claim-and-write-all'
import { insertReceipts } from './sql/insert-receipts'
import { lockState } from './sql/load-state'

export interface AppendOptions {
  readonly clock: () => number
  /** A receipt older than this at commit time is past its window, and its key free again. */
  readonly receiptRetentionMillis: number
  readonly onCommit: (commit: Commit) => void
  /** Open and migrated: what a write needs before it takes a connection. */
  readonly usable: () => Promise<E.Either<StoreFault, void>>
}

/**
 * How appends reach PostgreSQL, where several instances write at once. Appends are optimistic: a job
 * whose user moved past its expected version is refused as a `VersionConflict` and the writer re-decides.
 * The jobs of one batch, across users, share one statement that checks each job's version on its own; a
 * member with receipts, which may fail on its own, then runs after it in the same transaction, in a savepoint,
 * so its refusal leaves the others be.
 */
export class PostgresAppends {
  constructor(
    private readonly pool: Pool,
    private readonly options: AppendOptions,
  ) {}

  /** One statement or transaction for all jobs; if it cannot commit, none of them is applied. */
  async commit(jobs: readonly AppendJob[]): Promise<Appended[]> {
    const usable = await this.options.usable()
    if (E.isLeft(usable)) return jobs.map(() => usable)
    const started = performance.now()
    const updateMillis = this.options.clock()
    // Members go in user order, so two instances' batches take the rows' locks in the same order and never deadlock.
    const order = jobs.map((job, i) => ({ job, i })).sort((a, b) => a.job.userId - b.job.userId)
    const results: Appended[] = new Array<Appended>(jobs.length)
    const plain = order.filter(({ job }) => !mayFailAlone(job))
    const keyed = order.filter(({ job }) => mayFailAlone(job))
    // Every plain member in one statement; the statement alone is atomic, so without keyed members it needs no transaction.
    const writeAll = async (db: Executor) => {
      if (plain.length === 0) return
      const claimed = await claimAndWriteAll(db, plain.map(({ job }) => job), updateMillis)
      for (const { job, i } of plain) results[i] = claimed.has(job.userId) ? accepted(job, updateMillis) : conflicted(job)
    }
    const batched = () =>
      keyed.length === 0
        ? writeAll(this.pool)
        : transaction(this.pool, async (client) => {
            await writeAll(client)
            for (const { job, i } of keyed) results[i] = await member(client, job, updateMillis, this.options.receiptRetentionMillis)
          })
    // The slow way, should the statement fail (a member whose version row is missing, a deadlock): each member on its own.
    const guarded = () =>
      transaction(this.pool, async (client) => {
        for (const { job, i } of order) results[i] = await member(client, job, updateMillis, this.options.receiptRetentionMillis)
      })
    try {
      const lone = jobs[0]!
      if (jobs.length === 1 && !mayFailAlone(lone)) results[0] = await this.alone(lone, updateMillis)
      else if (distinctUsers(jobs)) await batched().catch(guarded)
      else await guarded()
    } catch (error) {
      const fault = storeUnavailable(error)
      return jobs.map(() => E.left(fault))
    }
    this.options.onCommit({ appends: jobs.length, millis: performance.now() - started })
    return results
  }

  /**
   * Its own transaction, outside group commit: a writer uses it from its first lost race until it goes idle.
   * `FOR UPDATE` makes a rival's claim wait until this commits; a user with no row yet has nothing to lock, and
   * a rival inserting it first is reported as a conflict, after which the row exists.
   */
  async appendLocked<P extends Plan>(userId: UserId, decide: (state: PointState) => P): Promise<E.Either<StoreFault, Locked<P>>> {
    const usable = await this.options.usable()
    if (E.isLeft(usable)) return usable
    const began = performance.now()
    const updateMillis = this.options.clock()
    let result: E.Either<StoreFault, Locked<P>> | undefined
    try {
      await transaction(this.pool, async (client) => {
        const state = await lockState(client, userId)
        const plan = decide(state)
        const job: AppendJob = { userId, expectedVersion: state.version, plan }
        const appended =
          plan.events.length === 0 && plan.receipts.length === 0
            ? E.right({ id: userId, point: state.balance, updateMillis })
            : await member(client, job, updateMillis, this.options.receiptRetentionMillis)
        result = E.map((point: Locked<P>['point']) => ({ plan, point }))(appended)
      })
    } catch (error) {
      // The state read under the lock may be a corrupt row.
      return E.left(storeFault(error))
    }
    this.options.onCommit({ appends: 1, millis: performance.now() - began })
    return result ?? E.left(storeUnavailable(new Error('the locked transaction ended without a result')))
  }

  /** A batch of one append and no receipts is one statement: atomic without a transaction around it. */
  private async alone(job: AppendJob, updateMillis: number): Promise<Appended> {
    try {
      return (await claimAndWrite(this.pool, job, updateMillis)) ? accepted(job, updateMillis) : conflicted(job)
    } catch (error) {
      if (isUniqueViolation(error)) return conflicted(job)
      return E.left(storeUnavailable(error))
    }
  }
}

const distinctUsers = (jobs: readonly AppendJob[]): boolean => new Set(jobs.map((job) => job.userId)).size === jobs.length

/** A job with receipts, or with receipts only, can fail where the rest of its batch does not. */
const mayFailAlone = ({ plan }: AppendJob): boolean => plan.receipts.length > 0 || plan.events.length === 0

/** One append inside a shared transaction, in its own savepoint, so its failure is its own. */
async function member(client: PoolClient, job: AppendJob, updateMillis: number, receiptRetentionMillis: number): Promise<Appended> {
  await client.query('SAVEPOINT member')
  try {
    const claimed = job.plan.events.length > 0 ? await claimAndWrite(client, job, updateMillis) : await claim(client, job, updateMillis)
    // A live receipt of this user and key, from another instance, is a lost race like a moved version.
    if (!claimed || !(await insertReceipts(client, job, updateMillis, updateMillis - receiptRetentionMillis))) {
      await client.query('ROLLBACK TO SAVEPOINT member')
      return conflicted(job)
    }
    await client.query('RELEASE SAVEPOINT member')
    return accepted(job, updateMillis)
  } catch (error) {
    // If the connection itself failed, this throws too and the whole batch is a fault.
    await client.query('ROLLBACK TO SAVEPOINT member')
    // Another instance wrote this version or recorded one of these keys first: re-decide after a fresh read.
    if (isUniqueViolation(error)) return conflicted(job)
    return E.left(storeUnavailable(error))
  }
}

const isUniqueViolation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505'
