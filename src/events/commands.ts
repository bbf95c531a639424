import type * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import type { Accepted, Amount, IdempotencyKey, Rejection, UserId } from './model'
import type { StoreFailure } from './store'

/** A bug met while handling a command: never the caller's fault. */
export interface Defect {
  readonly _tag: 'Defect'
  readonly error: unknown
}

export const defect = (error: unknown): Defect => ({ _tag: 'Defect', error })

/** What a command can fail with: the rules said no, the store failed or holds a corrupt row, or a bug. */
export type CommandFailure = Rejection | StoreFailure | Defect
export type Outcome = E.Either<CommandFailure, Accepted>

/** How busy the writers are, for metrics and tests. */
export interface QueueStats {
  /** Users with a writer right now: zero whenever the service is idle. */
  readonly activeWriters: number
  /** Commands waiting for their writer, over all users. */
  readonly queued: number
}

/** The command side's use cases: each applies once per key, in the user's one order. */
export interface Commands {
  /** With a key, a repeat of the same command is answered as the first was, and applies nothing. */
  readonly charge: (userId: UserId, amount: Amount, key?: IdempotencyKey) => TE.TaskEither<CommandFailure, Accepted>
  readonly use: (userId: UserId, amount: Amount, key?: IdempotencyKey) => TE.TaskEither<CommandFailure, Accepted>
  /** Gives back all or part of the use with history id `useId`. */
  readonly refund: (userId: UserId, useId: number, amount: Amount, key?: IdempotencyKey) => TE.TaskEither<CommandFailure, Accepted>
  /** Reserves `amount` for `ttlMillis` (the configured default when undefined); the answer names the hold. */
  readonly hold: (userId: UserId, amount: Amount, ttlMillis: number | undefined, key?: IdempotencyKey) => TE.TaskEither<CommandFailure, Accepted>
  /** Takes all of an active hold (no amount) or part of it; the rest is freed. */
  readonly capture: (userId: UserId, holdId: number, amount: Amount | undefined, key?: IdempotencyKey) => TE.TaskEither<CommandFailure, Accepted>
  readonly release: (userId: UserId, holdId: number, key?: IdempotencyKey) => TE.TaskEither<CommandFailure, Accepted>
  /** Records a due hold's expiry; nothing is written for a hold already gone or not yet due. */
  readonly expire: (userId: UserId, holdId: number) => TE.TaskEither<CommandFailure, Accepted>
  /** The writers, for tests and metrics. */
  readonly commands: QueueStats
}
