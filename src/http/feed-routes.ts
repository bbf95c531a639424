import type Router from '@koa/router'
import * as E from 'fp-ts/Either'
import type { Context } from 'koa'
import { positionText, type FeedPosition } from '../events/feed'
import type { FeedReads } from '../projections/feed-reads'
import { loggedFailure, noteFailure } from './failure-log'
import { feedItem } from './feed-body'
import { streamFeed, type StreamSources } from './feed-stream'
import type { RouteGuard } from './operations'
import { fromFailure, problem, sendProblem, type Problem } from './problem'
import { decode, FeedPageQuery, LastEventIdHeader } from './requests'
import { strictRouter } from './router'

export interface FeedRouteOptions {
  readonly guard: RouteGuard
  readonly stream: StreamSources
}

/**
 * Where a stream starts: after `Last-Event-ID` when the client sends one (a reconnect, which EventSource makes to
 * the same URL), else after `?after=`, else from the start. Either refused if it is not a position.
 */
const streamStart = (ctx: Context): E.Either<Problem, FeedPosition> => {
  const header = ctx.req.headersDistinct['last-event-id']
  if (header !== undefined) {
    return header.length > 1 ? E.left(problem('INVALID_REQUEST', 'Last-Event-ID: send the header once')) : decode(LastEventIdHeader, 'Last-Event-ID')(header[0])
  }
  return decode(FeedPageQuery.props.after, 'query.after')(ctx.query['after'])
}

/** `GET /events`, a page of the change feed, and `GET /events/stream`, the same as Server-Sent Events. */
export function feedRoutes(feed: FeedReads, { guard, stream }: FeedRouteOptions): Router {
  const page = async (ctx: Context) => {
    const query = decode(FeedPageQuery, 'query')(ctx.query)
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
    const start = streamStart(ctx)
    if (E.isLeft(start)) return sendProblem(ctx, start.left)
    // The router answers HEAD with the GET route: the headers alone, not a stream that never ends.
    if (ctx.method === 'HEAD') {
      ctx.status = 200
      ctx.type = 'text/event-stream'
      return
    }
    await streamFeed(ctx, stream, start.right)
  }

  return strictRouter().get('/events', ...guard('feed'), page).get('/events/stream', ...guard('feedStream'), live)
}
