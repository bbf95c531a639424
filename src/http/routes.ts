import Router from '@koa/router'
import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import type { Context } from 'koa'
import type { Ledger } from '../events/ledger'
import type { Amount, StoredEvent, UserId, UserPoint } from '../events/model'
import type { CommandFailure } from '../events/writer'
import { fromFailure, problem, sendProblem, type Problem } from './problem'
import { AmountBody, decode, UserIdParam } from './requests'

type Reply = TE.TaskEither<Problem, unknown>

/** Runs a route's task and writes its value as JSON or its problem as problem+json. */
const reply = async (ctx: Context, task: Reply): Promise<void> => {
  const result = await task()
  if (E.isLeft(result)) return sendProblem(ctx, result.left)
  ctx.status = 200
  ctx.body = result.right
}

const userId = (ctx: Context): E.Either<Problem, UserId> => decode(UserIdParam, 'id')((ctx.params as Record<string, unknown>)['id'])

const amount = (ctx: Context): E.Either<Problem, Amount> =>
  ctx.is('application/json') === 'application/json'
    ? pipe(decode(AmountBody, 'body')(ctx.request.body), E.map((body) => body.amount))
    : E.left(problem('INVALID_REQUEST', 'Content-Type must be application/json'))

const balanceBody = ({ id, point, updateMillis }: UserPoint) => ({ id, point, updateMillis })

const historyBody = (events: StoredEvent[]) =>
  events.map(({ id, userId, type, amount, timeMillis }) => ({ id, userId, type, amount, timeMillis }))

type CommandCase = (userId: UserId, amount: Amount) => TE.TaskEither<CommandFailure, UserPoint>

/** Decode, call one use case, encode: nothing else happens in a route. */
export function pointRoutes(ledger: Ledger): Router {
  const command = (run: CommandCase) => (ctx: Context) =>
    reply(
      ctx,
      pipe(
        TE.fromEither(E.Do),
        TE.bind('id', () => TE.fromEither(userId(ctx))),
        TE.bind('amount', () => TE.fromEither(amount(ctx))),
        TE.flatMap(({ id, amount }) => pipe(run(id, amount), TE.mapLeft(fromFailure))),
        TE.map(balanceBody),
      ),
    )

  const query =
    <A>(run: (id: UserId) => TE.TaskEither<CommandFailure, A>, encode: (value: A) => unknown) =>
    (ctx: Context) =>
      reply(
        ctx,
        pipe(
          TE.fromEither(userId(ctx)),
          TE.flatMap((id) => pipe(run(id), TE.mapLeft(fromFailure))),
          TE.map(encode),
        ),
      )

  return new Router()
    .get('/point/:id', query(ledger.balance, balanceBody))
    .get('/point/:id/histories', query(ledger.history, historyBody))
    .patch('/point/:id/charge', command(ledger.charge))
    .patch('/point/:id/use', command(ledger.use))
}
