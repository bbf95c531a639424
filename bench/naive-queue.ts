import * as E from 'fp-ts/Either'
import type { PointHistoryTable, UserPointTable } from '../database'
import type { Outcome } from '../src/events/commands'
import type { Decide } from '../src/events/decider'
import type { Command, Rejection, UserPoint } from '../src/events/model'
import { project } from '../src/projections/balance'

/** The table calls the naive queue makes; the given tables, or stand-ins that keep nothing. */
export interface NaiveTables {
  readonly points: Pick<UserPointTable, 'selectById' | 'insertOrUpdate'>
  readonly histories: Pick<PointHistoryTable, 'insert'>
}

/** The error the naive queue throws for a refused command, as most such code does. */
class Refused extends Error {
  constructor(readonly rejection: Rejection) {
    super(rejection.detail)
  }
}

/**
 * The per-user queue many Node services start with, kept as the baseline the
 * benchmark and the scheduler proofs measure the real writer against. Each
 * command reads the balance, writes the new one, then inserts its history row,
 * and waits for the command before it through a promise chain per user.
 *
 * Its known faults are left in on purpose:
 * - `previous.then(run)` skips `run` when `previous` rejected, so one refused
 *   command fails every command queued behind it (the chain is poisoned);
 * - the map of chains is never cleaned, so it grows with every user ever seen;
 * - three table round trips per command, none of them shared with its neighbours.
 */
export class NaiveQueue {
  private readonly chains = new Map<number, Promise<UserPoint>>()

  constructor(
    private readonly tables: NaiveTables,
    private readonly decide: Decide,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The classic API: resolves with the new balance, rejects with the reason. */
  run(command: Command): Promise<UserPoint> {
    const previous = this.chains.get(command.userId) ?? Promise.resolve(undefined)
    const next = previous.then(() => this.apply(command))
    this.chains.set(command.userId, next)
    return next
  }

  /** The same shape as `CommandQueue.submit`, so one property can judge both. */
  submit(command: Command): Promise<Outcome> {
    return this.run(command).then(
      (point) => E.right({ ...point, held: 0, available: point.point }),
      (error: unknown) => E.left(error instanceof Refused ? error.rejection : { _tag: 'Defect' as const, error }),
    )
  }

  /** Users holding a chain: every user ever seen. */
  get activeWriters(): number {
    return this.chains.size
  }

  private async apply(command: Command): Promise<UserPoint> {
    const { points, histories } = this.tables
    const current = await points.selectById(command.userId)
    const decided = this.decide(command, { balance: current.point, version: 0 }, this.clock())
    if (E.isLeft(decided)) throw new Refused(decided.left)

    const { balance } = project({ balance: current.point, version: 0 }, decided.right)
    const updated = (await points.insertOrUpdate(command.userId, balance)) as UserPoint
    for (const event of decided.right) {
      await histories.insert(event.userId, event.amount, event.type === 'CHARGE' ? 'CHARGE' : 'USE', event.timeMillis)
    }
    return updated
  }
}
