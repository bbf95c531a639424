import type Router from '@koa/router'
import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import * as t from 'io-ts'
import type { Context, Middleware } from 'koa'
import type { CommandFailure } from '../events/commands'
import type { Accepted, Amount, Balance, IdempotencyKey, PointEvent, StoredEvent, UserId } from '../events/model'
import type { StoredHold } from '../events/store'
import type { Ledger } from '../projections/ledger'
import type { HistoryPage } from '../projections/reads'
import type { RouteGuard } from './operations'
import { loggedFailure, noteFailure, type LoggedError } from './failure-log'
import { fromFailure, problem, sendProblem, type Problem } from './problem'
import { AmountBody, CaptureBody, decode, HistoryPageQuery, HoldBody, HoldIdParam, IdempotencyKeyHeader, InstantParam, RefundBody, ReleaseBody, UserIdParam } from './requests'
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

/** Writes a route's answer as JSON or its problem as problem+json. */
const answer = (ctx: Context, result: E.Either<Problem | Refusal, Answer>): void => {
  if (E.isLeft(result)) {
    const refused: Refusal = 'problem' in result.left ? result.left : { problem: result.left }
    if (refused.headers !== undefined) ctx.set(refused.headers)
    noteFailure(ctx, refused.error)
    return sendProblem(ctx, refused.problem)
  }
  ctx.status = 200
  if (result.right.headers !== undefined) ctx.set(result.right.headers)
  ctx.body = result.right.body
}

/** Runs a route's task and writes what it answers. */
const reply = async (ctx: Context, task: TE.TaskEither<Problem | Refusal, Answer>): Promise<void> => answer(ctx, await task())

// Each decoder is made once, not for every request, which would make a closure each time.
const userIdOf = decode(UserIdParam, 'id')
const holdIdOf = decode(HoldIdParam, 'holdId')
const idempotencyKeyOf = decode(IdempotencyKeyHeader, 'Idempotency-Key')
const instantOf = decode(InstantParam, 'at')
const historyPageOf = decode(HistoryPageQuery, 'query')

const userId = (ctx: Context): E.Either<Problem, UserId> => userIdOf((ctx.params as Record<string, unknown>)['id'])

/** A JSON body decoded by `codec`. */
const body = <A>(codec: t.Decoder<unknown, A>) => {
  const decodeBody = decode(codec, 'body')
  return (ctx: Context): E.Either<Problem, A> =>
    ctx.is('application/json') === 'application/json'
      ? decodeBody(ctx.request.body)
      : E.left(problem('INVALID_REQUEST', 'Content-Type must be application/json'))
}

/** Whether the request carries a body: `Content-Length: 0`, which clients send with an empty PATCH, is none. */
const bodySent = (ctx: Context): boolean => ctx.get('transfer-encoding') !== '' || (ctx.request.length ?? 0) > 0

const amountBody = body(AmountBody)

const amount = (ctx: Context): E.Either<Problem, Amount> => {
  const decoded = amountBody(ctx)
  return E.isLeft(decoded) ? decoded : E.right(decoded.right.amount)
}

const holdId = (ctx: Context): E.Either<Problem, number> => holdIdOf((ctx.params as Record<string, unknown>)['holdId'])

const captureBody = body(CaptureBody)
const releaseBody = body(ReleaseBody)

const balanceBody = ({ id, point, held, available, updateMillis }: Balance) => ({ id, point, held, available, updateMillis })

/** A command's answer: the balance, and the hold it placed, if it placed one. */
const acceptedBody = (accepted: Accepted) =>
  accepted.hold === undefined
    ? balanceBody(accepted)
    : { ...balanceBody(accepted), hold: { holdId: accepted.hold.holdId, amount: accepted.hold.amount, expiresMillis: accepted.hold.expiresAt } }

/** What an event links to, by the name the API gives it: a refund's use, a hold event's hold. */
const links = ({ type, ref, expiresAt }: Pick<PointEvent, 'type' | 'ref' | 'expiresAt'>) => ({
  ...(ref === undefined ? {} : type === 'REFUND' ? { useId: ref } : { holdId: ref }),
  ...(expiresAt === undefined ? {} : { expiresMillis: expiresAt }),
})

/** One event as the API shows it, without its history id; the one serializer of events, for every type. */
export const eventBody = ({ userId, type, amount, timeMillis, ref, expiresAt }: PointEvent) => ({
  userId,
  type,
  amount,
  timeMillis,
  ...links({ type, ref, expiresAt }),
})

/** One event as the history shows it. */
export const historyRow = ({ id, ...event }: StoredEvent) => ({ id, ...eventBody(event) })

const historyBody = (events: StoredEvent[]) => events.map(historyRow)

const holdsBody = (holds: StoredHold[]) =>
  holds.map(({ holdId, amount, placedAt, expiresAt }) => ({ holdId, amount, placedMillis: placedAt, expiresMillis: expiresAt }))

/** The page as a plain array, with a `Link` to the next page when more remain. */
const historyAnswer =
  (id: UserId, limit: number) =>
  ({ events, next }: HistoryPage): Answer =>
    next === undefined
      ? json(historyBody(events))
      : { body: historyBody(events), headers: { Link: `</point/${id}/histories?after=${next}&limit=${limit}>; rel="next"` } }

/** A command's use case, given what its route decoded besides the user and the key. */
type Run<A> = (userId: UserId, input: A, key?: IdempotencyKey) => TE.TaskEither<CommandFailure, Accepted>

/** The key, if the header is sent; sent twice, it is refused, as Node would otherwise join the two with a comma. */
const idempotencyKey = (ctx: Context): E.Either<Problem, IdempotencyKey | undefined> => {
  // Node builds `headersDistinct` for every header when first read; a request without the key needs none of it.
  if (ctx.req.headers['idempotency-key'] === undefined) return E.right(undefined)
  const given = ctx.req.headersDistinct['idempotency-key']
  if (given === undefined) return E.right(undefined)
  if (given.length > 1) return E.left(problem('INVALID_REQUEST', 'Idempotency-Key: send the header once'))
  return idempotencyKeyOf(given[0])
}

/** `?at=`, when given. */
const instant = (ctx: Context): E.Either<Problem, number | undefined> => {
  const at = ctx.query['at']
  return at === undefined ? E.right(undefined) : instantOf(at)
}

/** A repeated keyed command says so, whether its first answer was a success or a rejection. */
const replayedHeader = (replayed: boolean | undefined) =>
  replayed === true ? { 'Idempotency-Replayed': 'true' } : undefined

const commandRefusal = (failure: CommandFailure): Refusal => ({
  ...refusal(failure),
  headers: failure._tag === 'Rejection' ? replayedHeader(failure.replayed) : undefined,
})

export interface PointRouteOptions {
  /** Registered ahead of each route's handler for the operation it serves, which names the scope it needs. */
  readonly guard: RouteGuard
  /** Parses a JSON body; mounted only on the routes that take one, after their guard. */
  readonly jsonBody: Middleware
}

/** Decode, call one use case, encode: nothing else happens in a route. */
export function pointRoutes(ledger: Ledger, { guard, jsonBody }: PointRouteOptions): Router {
  /**
   * A command: the user, what `input` decodes, the key, all decoded before anything runs, then its use case.
   * Written as plain steps over the Either values: the pipelines they replace allocated a dozen closures per
   * request on the busiest routes (docs/performance.md). One async function, not a task handed to `reply`: that
   * was a closure, a promise and a microtask turn more for every command.
   */
  const commandOf =
    <A>(input: (ctx: Context) => E.Either<Problem, A>, run: Run<A>) =>
    async (ctx: Context): Promise<void> => {
      const id = userId(ctx)
      if (E.isLeft(id)) return answer(ctx, id)
      const given = input(ctx)
      if (E.isLeft(given)) return answer(ctx, given)
      const key = idempotencyKey(ctx)
      if (E.isLeft(key)) return answer(ctx, key)
      const result = await run(id.right, given.right, key.right)()
      if (E.isLeft(result)) return answer(ctx, E.left(commandRefusal(result.left)))
      answer(ctx, E.right({ body: acceptedBody(result.right), headers: replayedHeader(result.right.replayed) }))
    }

  const command = (run: Run<Amount>) => commandOf(amount, run)

  const capture = (ctx: Context) =>
    pipe(
      E.Do,
      E.bind('holdId', () => holdId(ctx)),
      E.bind('body', () => captureBody(ctx)),
    )

  /** A release needs no body; one sent must be `{}`, so that a client expecting a partial release learns it is not. */
  const release = (ctx: Context) => (bodySent(ctx) ? E.flatMap(() => holdId(ctx))(releaseBody(ctx)) : holdId(ctx))

  const holds = (ctx: Context) =>
    reply(
      ctx,
      pipe(
        TE.fromEither(userId(ctx)),
        TE.flatMap((id) => TE.mapLeft(refusal)(ledger.holds(id))),
        TE.map((found) => json(holdsBody(found))),
      ),
    )

  const balance = async (ctx: Context): Promise<void> => {
    const id = userId(ctx)
    if (E.isLeft(id)) return answer(ctx, id)
    const at = instant(ctx)
    if (E.isLeft(at)) return answer(ctx, at)
    const result = await (at.right === undefined ? ledger.balance(id.right) : ledger.balanceAt(id.right, at.right))()
    answer(ctx, E.isLeft(result) ? E.left(refusal(result.left)) : E.right(json(balanceBody(result.right))))
  }

  const histories = (ctx: Context) =>
    reply(
      ctx,
      pipe(
        TE.fromEither(E.Do),
        TE.bind('id', () => TE.fromEither(userId(ctx))),
        TE.bind('page', () => TE.fromEither(historyPageOf(ctx.query))),
        TE.flatMap(({ id, page }) => pipe(ledger.historyPage(id, page), TE.mapLeft(refusal), TE.map(historyAnswer(id, page.limit)))),
      ),
    )

  return strictRouter()
    .get('/point/:id', ...guard('balance'), balance)
    .get('/point/:id/histories', ...guard('history'), histories)
    .patch('/point/:id/charge', ...guard('charge'), jsonBody, command(ledger.charge))
    .patch('/point/:id/use', ...guard('use'), jsonBody, command(ledger.use))
    .patch('/point/:id/refund', ...guard('refund'), jsonBody, commandOf(body(RefundBody), (id, { useId, amount: n }, key) => ledger.refund(id, useId, n, key)))
    .patch(
      '/point/:id/hold',
      ...guard('hold'),
      jsonBody,
      commandOf(body(HoldBody), (id, { amount: n, ttlSeconds }, key) => ledger.hold(id, n, ttlSeconds === undefined ? undefined : ttlSeconds * 1000, key)),
    )
    .get('/point/:id/holds', ...guard('holds'), holds)
    .patch('/point/:id/holds/:holdId/capture', ...guard('capture'), jsonBody, commandOf(capture, (id, { holdId: h, body: b }, key) => ledger.capture(id, h, b.amount, key)))
    .patch('/point/:id/holds/:holdId/release', ...guard('release'), jsonBody, commandOf(release, (id, h, key) => ledger.release(id, h, key)))
}
