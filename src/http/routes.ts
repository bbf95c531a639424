import Router from '@koa/router'
import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import type { Context } from 'koa'
import * as t from 'io-ts'
import type { CommandFailure } from '../events/commands'
import { IdempotencyKey, type Accepted, type Amount, type StoredEvent, type UserId, type UserPoint } from '../events/model'
import type { Ledger } from '../projections/ledger'
import type { HistoryPage } from '../projections/reads'
import { fromFailure, problem, sendProblem, type Problem } from './problem'
import { AmountBody, decode, HistoryPageQuery, InstantParam, UserIdParam } from './requests'

/** A 200 answer: the JSON body and any headers that go with it. */
interface Answer {
  readonly body: unknown
  readonly headers?: Record<string, string>
}

const json = (body: unknown): Answer => ({ body })

/** A problem answer and any headers that go with it. */
interface Refusal {
  readonly problem: Problem
  readonly headers?: Record<string, string>
}

/** Runs a route's task and writes its answer as JSON or its problem as problem+json. */
const reply = async (ctx: Context, task: TE.TaskEither<Problem | Refusal, Answer>): Promise<void> => {
  const result = await task()
  if (E.isLeft(result)) {
    const refusal = 'problem' in result.left ? result.left : { problem: result.left }
    ctx.set(refusal.headers ?? {})
    return sendProblem(ctx, refusal.problem)
  }
  ctx.status = 200
  ctx.set(result.right.headers ?? {})
  ctx.body = result.right.body
}

const userId = (ctx: Context): E.Either<Problem, UserId> => decode(UserIdParam, 'id')((ctx.params as Record<string, unknown>)['id'])

const amount = (ctx: Context): E.Either<Problem, Amount> =>
  ctx.is('application/json') === 'application/json'
    ? pipe(decode(AmountBody, 'body')(ctx.request.body), E.map((body) => body.amount))
    : E.left(problem('INVALID_REQUEST', 'Content-Type must be application/json'))

const balanceBody = ({ id, point, updateMillis }: UserPoint) => ({ id, point, updateMillis })

const historyBody = (events: StoredEvent[]) =>
  events.map(({ id, userId, type, amount, timeMillis }) => ({ id, userId, type, amount, timeMillis }))

/** The page as a plain array, with a `Link` to the next page when more remain. */
const historyAnswer =
  (ctx: Context, limit: number) =>
  ({ events, next }: HistoryPage): Answer =>
    next === undefined
      ? json(historyBody(events))
      : { body: historyBody(events), headers: { Link: `<${ctx.path}?after=${next}&limit=${limit}>; rel="next"` } }

type CommandCase = (userId: UserId, amount: Amount, key?: IdempotencyKey) => TE.TaskEither<CommandFailure, Accepted>

const idempotencyKey = (ctx: Context): E.Either<Problem, IdempotencyKey | undefined> =>
  decode(t.union([t.undefined, IdempotencyKey]), 'Idempotency-Key header')(ctx.get('Idempotency-Key') || undefined)

/** A repeated keyed command says so, whether its first answer was a success or a rejection. */
const replayedHeader = (replayed: boolean | undefined) =>
  replayed === true ? { 'Idempotency-Replayed': 'true' } : undefined

const commandRefusal = (failure: CommandFailure): Refusal => ({
  problem: fromFailure(failure),
  headers: failure._tag === 'Rejection' ? replayedHeader(failure.replayed) : undefined,
})

/** A command's user, amount and optional key, decoded together before anything runs. */
const commandInput = (ctx: Context) =>
  pipe(
    E.Do,
    E.bind('id', () => userId(ctx)),
    E.bind('amount', () => amount(ctx)),
    E.bind('key', () => idempotencyKey(ctx)),
  )

/** Decode, call one use case, encode: nothing else happens in a route. */
export function pointRoutes(ledger: Ledger): Router {
  const command = (run: CommandCase) => (ctx: Context) =>
    reply(
      ctx,
      pipe(
        TE.fromEither(commandInput(ctx)),
        TE.flatMap(({ id, amount, key }) => pipe(run(id, amount, key), TE.mapLeft(commandRefusal))),
        TE.map((point) => ({ body: balanceBody(point), headers: replayedHeader(point.replayed) })),
      ),
    )

  const balance = (ctx: Context) =>
    reply(
      ctx,
      pipe(
        TE.fromEither(E.Do),
        TE.bind('id', () => TE.fromEither(userId(ctx))),
        TE.bind('at', () => TE.fromEither(decode(t.union([t.undefined, InstantParam]), 'at')(ctx.query['at']))),
        TE.flatMap(({ id, at }) => TE.mapLeft(fromFailure)(at === undefined ? ledger.balance(id) : ledger.balanceAt(id, at))),
        TE.map((point) => json(balanceBody(point))),
      ),
    )

  const histories = (ctx: Context) =>
    reply(
      ctx,
      pipe(
        TE.fromEither(E.Do),
        TE.bind('id', () => TE.fromEither(userId(ctx))),
        TE.bind('page', () => TE.fromEither(decode(HistoryPageQuery, 'query')(ctx.query))),
        TE.flatMap(({ id, page }) => pipe(ledger.historyPage(id, page), TE.mapLeft(fromFailure), TE.map(historyAnswer(ctx, page.limit)))),
      ),
    )

  return new Router()
    .get('/point/:id', balance)
    .get('/point/:id/histories', histories)
    .patch('/point/:id/charge', command(ledger.charge))
    .patch('/point/:id/use', command(ledger.use))
}
