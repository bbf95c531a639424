import type Router from '@koa/router'
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import type { Context } from 'koa'
import { positionText, type FeedPosition } from '../events/feed'
import type { FeedReads } from '../projections/feed-reads'
import { loggedFailure, noteFailure } from './failure-log'
import { feedItem } from './feed-body'
import { streamFeed, type StreamSources } from './feed-stream'
import type { RouteGuard } from './operations'
import type { OpenStreams } from './open-streams'
import { fromFailure, problem, sendProblem, type Problem } from './problem'
import { decode, FeedPageQuery, LastEventIdHeader } from './requests'
import { strictRouter } from './router'

export interface FeedRouteOptions {
  readonly guard: RouteGuard
  readonly stream: StreamSources
  /** The streams this app serves now, held to `stream.settings.maxStreams`. */
  readonly open: OpenStreams
}

/** A position of another store's form (say `1290-42`, PostgreSQL's, sent to SQLite): a checkpoint from another deployment. */
const foreign = (what: string): Problem =>
  problem('INVALID_REQUEST', `${what}: not a position this service's store gives (it comes from another store); resume from a checkpoint this feed gave`)

/**
 * Where a stream starts: after `Last-Event-ID` when the client sends one (a reconnect, which EventSource makes to
 * the same URL), else after `?after=`, else from the start. Either refused if it is not a position of this store:
 * read, it would stall the stream or start it over.
 */
const streamStart = (ctx: Context, feed: FeedReads): E.Either<Problem, FeedPosition> => {
  const header = ctx.req.headersDistinct['last-event-id']
  const [what, decoded] =
    header === undefined
      ? ['query.after', decode(FeedPageQuery.props.after, 'query.after')(ctx.query['after'])]
      : header.length > 1
        ? ['Last-Event-ID', E.left(problem('INVALID_REQUEST', 'Last-Event-ID: send the header once'))]
        : ['Last-Event-ID', decode(LastEventIdHeader, 'Last-Event-ID')(header[0])]
  return pipe(decoded, E.filterOrElse(feed.readsPosition, () => foreign(what)))
}

/** `GET /events`, a page of the change feed, and `GET /events/stream`, the same as Server-Sent Events. */
export function feedRoutes(feed: FeedReads, { guard, stream, open }: FeedRouteOptions): Router {
  const retryAfter = String(Math.max(1, Math.ceil(stream.settings.retryMillis / 1000)))

  const page = async (ctx: Context) => {
    const query = pipe(
      decode(FeedPageQuery, 'query')(ctx.query),
      E.filterOrElse(({ after }) => feed.readsPosition(after), () => foreign('query.after')),
    )
    if (E.isLeft(query)) return sendProblem(ctx, query.left)
    const result = await feed.feedPage(query.right)()
    if (E.isLeft(result)) {
      noteFailure(ctx, loggedFailure(result.left))
      return sendProblem(ctx, fromFailure(result.left))
    }
    ctx.status = 200
    ctx.body = { events: result.right.entries.map(feedItem), next: positionText(result.right.next) }
  }

  const live = async (ctx: Context) => {
    const start = streamStart(ctx, feed)
    if (E.isLeft(start)) return sendProblem(ctx, start.left)
    if (open.count >= stream.settings.maxStreams) {
      const full = `streams open: ${stream.settings.maxStreams}, the most FEED_MAX_STREAMS allows`
      // The operator's cue to raise the bound or find the client holding streams: the line says why, not only 503.
      noteFailure(ctx, { code: 'TOO_MANY_STREAMS', message: full })
      ctx.set('Retry-After', retryAfter)
      return sendProblem(ctx, problem('TOO_MANY_STREAMS', `${full}; retry later`))
    }
    // The router answers HEAD with the GET route: the headers alone, not a stream that never ends.
    if (ctx.method === 'HEAD') {
      ctx.status = 200
      ctx.type = 'text/event-stream'
      return
    }
    // A client that went away before its stream began holds nothing, and its 'close' has been and gone.
    if (ctx.res.closed) return
    open.hold(ctx.res)
    await streamFeed(ctx, stream, start.right)
  }

  return strictRouter().get('/events', ...guard('feed'), page).get('/events/stream', ...guard('feedStream'), live)
}
