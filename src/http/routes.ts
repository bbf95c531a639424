import type Router from '@koa/router'
import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import type { Context, Middleware } from 'koa'
import type { CommandFailure } from '../events/commands'
import type { Accepted, Amount, IdempotencyKey, StoredEvent, UserId, UserPoint } from '../events/model'
import type { Ledger } from '../projections/ledger'
import type { HistoryPage } from '../projections/reads'
import type { RouteGuard } from './operations'
import { loggedFailure, noteFailure, type LoggedError } from './failure-log'
import { fromFailure, problem, sendProblem, type Problem } from './problem'
import { AmountBody, decode, HistoryPageQuery, IdempotencyKeyHeader, InstantParam, UserIdParam } from './requests'
import { strictRouter } from './router'

/** A 200 answer: the JSON body and any headers that go with it. */
interface Answer {
  readonly body: unknown
  readonly headers?: Record<string, string>
}

const json = (body: unknown): Answer => ({ body })

/** A problem answer, any headers that go with it, and the error its log line names. */
interface Refusal {
  readonly problem: Problem
  readonly headers?: Record<string, string>
  readonly error?: LoggedError
}

/** A failed use case's answer. */
const refusal = (failure: CommandFailure): Refusal => ({ problem: fromFailure(failure), error: loggedFailure(failure) })

/** Runs a route's task and writes its answer as JSON or its problem as problem+json. */
const reply = async (ctx: Context, task: TE.TaskEither<Problem | Refusal, Answer>): Promise<void> => {
  const result = await task()
  if (E.isLeft(result)) {
    const refused: Refusal = 'problem' in result.left ? result.left : { problem: result.left }
    ctx.set(refused.headers ?? {})
    noteFailure(ctx, refused.error)
    return sendProblem(ctx, refused.problem)
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
  (id: UserId, limit: number) =>
  ({ events, next }: HistoryPage): Answer =>
    next === undefined
      ? json(historyBody(events))
      : { body: historyBody(events), headers: { Link: `</point/${id}/histories?after=${next}&limit=${limit}>; rel="next"` } }

type CommandCase = (userId: UserId, amount: Amount, key?: IdempotencyKey) => TE.TaskEither<CommandFailure, Accepted>

/** The key, if the header is sent; sent twice, it is refused, as Node would otherwise join the two with a comma. */
const idempotencyKey = (ctx: Context): E.Either<Problem, IdempotencyKey | undefined> => {
  const given = ctx.req.headersDistinct['idempotency-key']
  if (given === undefined) return E.right(undefined)
  if (given.length > 1) return E.left(problem('INVALID_REQUEST', 'Idempotency-Key: send the header once'))
  return decode(IdempotencyKeyHeader, 'Idempotency-Key')(given[0])
}

/** `?at=`, when given. */
const instant = (ctx: Context): E.Either<Problem, number | undefined> => {
  const at = ctx.query['at']
  return at === undefined ? E.right(undefined) : decode(InstantParam, 'at')(at)
}

/** A repeated keyed command says so, whether its first answer was a success or a rejection. */
const replayedHeader = (replayed: boolean | undefined) =>
  replayed === true ? { 'Idempotency-Replayed': 'true' } : undefined

const commandRefusal = (failure: CommandFailure): Refusal => ({
  ...refusal(failure),
  headers: failure._tag === 'Rejection' ? replayedHeader(failure.replayed) : undefined,
})

/**
 * A command's user, amount and optional key, decoded together before anything runs. Written out rather than as
 * an `E.Do` pipeline, which builds its closures and intermediate objects again on every request.
 */
const commandInput = (ctx: Context): E.Either<Problem, { id: UserId; amount: Amount; key: IdempotencyKey | undefined }> => {
  const id = userId(ctx)
  if (E.isLeft(id)) return id
  const given = amount(ctx)
  if (E.isLeft(given)) return given
  const key = idempotencyKey(ctx)
  if (E.isLeft(key)) return key
  return E.right({ id: id.right, amount: given.right, key: key.right })
}

export interface PointRouteOptions {
  /** Registered ahead of each route's handler for the operation it serves, which names the scope it needs. */
  readonly guard: RouteGuard
  /** Parses a JSON body; mounted only on the routes that take one, after their guard. */
  readonly jsonBody: Middleware
}

/** Decode, call one use case, encode: nothing else happens in a route. */
export function pointRoutes(ledger: Ledger, { guard, jsonBody }: PointRouteOptions): Router {
  // The two busiest routes are written as plain steps over the same Either values: the pipelines they replace
  // allocated a dozen closures per request (docs/performance.md).
  const command =
    (run: CommandCase) =>
    (ctx: Context): Promise<void> =>
      reply(ctx, async () => {
        const input = commandInput(ctx)
        if (E.isLeft(input)) return input
        const { id, amount, key } = input.right
        const result = await run(id, amount, key)()
        if (E.isLeft(result)) return E.left(commandRefusal(result.left))
        return E.right({ body: balanceBody(result.right), headers: replayedHeader(result.right.replayed) })
      })

  const balance = (ctx: Context): Promise<void> =>
    reply(ctx, async () => {
      const id = userId(ctx)
      if (E.isLeft(id)) return id
      const at = instant(ctx)
      if (E.isLeft(at)) return at
      const result = await (at.right === undefined ? ledger.balance(id.right) : ledger.balanceAt(id.right, at.right))()
      return E.isLeft(result) ? E.left(refusal(result.left)) : E.right(json(balanceBody(result.right)))
    })

  const histories = (ctx: Context) =>
    reply(
      ctx,
      pipe(
        TE.fromEither(E.Do),
        TE.bind('id', () => TE.fromEither(userId(ctx))),
        TE.bind('page', () => TE.fromEither(decode(HistoryPageQuery, 'query')(ctx.query))),
        TE.flatMap(({ id, page }) => pipe(ledger.historyPage(id, page), TE.mapLeft(refusal), TE.map(historyAnswer(id, page.limit)))),
      ),
    )

  return strictRouter()
    .get('/point/:id', ...guard('balance'), balance)
    .get('/point/:id/histories', ...guard('history'), histories)
    .patch('/point/:id/charge', ...guard('charge'), jsonBody, command(ledger.charge))
    .patch('/point/:id/use', ...guard('use'), jsonBody, command(ledger.use))
}
