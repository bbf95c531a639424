import * as E from 'fp-ts/Either'
import type { Context } from 'koa'
import { comparePositions, positionText, type FeedEntry, type FeedPosition } from '../events/feed'
import type { StoreFailure } from '../events/store'
import type { FeedReads } from '../projections/feed-reads'
import type { FeedTail, TailListener } from '../projections/feed-tail'
import { feedItem } from './feed-body'

export interface StreamSettings {
  /** How often a comment line is sent, so that the client and any proxy see the stream alive. */
  readonly heartbeatMillis: number
  /** Bytes the stream may have waiting to be sent before its client is disconnected as too slow. */
  readonly bufferBytes: number
  /** Events read per query while catching up. */
  readonly pageLimit: number
  /** What the client is told to wait before it reconnects (SSE `retry:`). */
  readonly retryMillis: number
  /** How long a disconnected client has to take the last lines before its connection is cut. */
  readonly closeGraceMillis: number
  /**
   * Streams served at once; one more is refused (503 `TOO_MANY_STREAMS`). Each holds up to `bufferBytes` for a slow
   * client, so without a bound any caller allowed to stream could make the service hold memory without end.
   */
  readonly maxStreams: number
}

export interface StreamSources {
  readonly read: FeedReads['feedPage']
  readonly tail: FeedTail
  readonly settings: StreamSettings
  /** Registers what to do when the service starts draining; answers how to stop listening. */
  readonly onDrain: (listener: () => void) => () => void
}

/** Why the service ended a stream, sent as its last event (`event: disconnect`). */
export type DisconnectCode = 'SLOW_CONSUMER' | 'SHUTTING_DOWN' | 'STORE_UNAVAILABLE' | 'STORE_CORRUPT'

const frame = (entry: FeedEntry): string => `id: ${positionText(entry.position)}\ndata: ${JSON.stringify(feedItem(entry))}\n\n`

// A batch from the tail goes to every stream: it is written out once, and the text shared.
const written = new WeakMap<readonly FeedEntry[], string>()
const framesOf = (batch: readonly FeedEntry[]): string => {
  const known = written.get(batch)
  if (known !== undefined) return known
  const text = batch.map(frame).join('')
  written.set(batch, text)
  return text
}

const failureCode = (failure: StoreFailure): DisconnectCode => (failure._tag === 'StoreCorrupt' ? 'STORE_CORRUPT' : 'STORE_UNAVAILABLE')

/**
 * Serves one `GET /events/stream`: the events after `start` from the store, a page at a time and at the client's
 * pace, then the live batches of the shared tail. Resolves once the stream has ended, for whatever reason. Live
 * batches are written as they come; once more than `bufferBytes` wait unsent, the client is told why and
 * disconnected, so a stalled client costs at most that much memory. It resumes from the position it was told.
 */
export function streamFeed(ctx: Context, { read, tail, settings, onDrain }: StreamSources, start: FeedPosition): Promise<void> {
  const { res } = ctx
  ctx.status = 200
  ctx.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' })
  ctx.respond = false
  res.flushHeaders()

  return new Promise<void>((resolve) => {
    let cursor = start
    let ended = false
    let stopListening = (): void => undefined

    const finish = () => {
      if (ended) return
      ended = true
      clearInterval(heartbeat)
      tail.leave(listener)
      stopListening()
      resolve()
    }

    const disconnect = (code: DisconnectCode, detail: string) => {
      if (ended) return
      res.end(`event: disconnect\ndata: ${JSON.stringify({ code, detail, after: positionText(cursor) })}\n\n`)
      // A client that reads nothing more would hold the connection and what waits on it: it has a grace period.
      const cut = setTimeout(() => res.destroy(), settings.closeGraceMillis)
      cut.unref()
      res.once('close', () => clearTimeout(cut))
      finish()
    }

    const overflowing = (): boolean => {
      if (res.writableLength <= settings.bufferBytes) return false
      disconnect('SLOW_CONSUMER', `more than ${settings.bufferBytes} bytes were waiting to be sent; resume after the position given`)
      return true
    }

    const listener: TailListener = (batch) => {
      const fresh = batch.filter((entry) => comparePositions(entry.position, cursor) > 0)
      if (fresh.length === 0) return
      res.write(fresh.length === batch.length ? framesOf(batch) : fresh.map(frame).join(''))
      cursor = fresh.at(-1)!.position
      overflowing()
    }

    const heartbeat = setInterval(() => {
      res.write(': heartbeat\n\n')
      overflowing()
    }, settings.heartbeatMillis)
    heartbeat.unref()

    res.once('close', finish)
    stopListening = onDrain(() => disconnect('SHUTTING_DOWN', 'the service is shutting down; reconnect, to another instance if need be'))

    // Catching up is paced by the client: the next page is read only once the last one has gone out.
    const sent = () =>
      new Promise<void>((done) => {
        const settle = () => {
          res.off('drain', settle)
          res.off('close', settle)
          done()
        }
        res.once('drain', settle).once('close', settle)
      })

    const catchUp = async (): Promise<void> => {
      while (!ended) {
        const page = await read({ after: cursor, limit: settings.pageLimit })()
        if (ended) return
        if (E.isLeft(page)) return disconnect(failureCode(page.left), 'the store did not answer; reconnect later')
        const { entries } = page.right
        if (entries.length > 0) {
          const flowing = res.write(entries.map(frame).join(''))
          cursor = entries.at(-1)!.position
          if (!flowing) await sent()
        }
        if (!ended && entries.length < settings.pageLimit && tail.join(cursor, listener)) return
      }
    }

    if (!ended) {
      res.write(`retry: ${settings.retryMillis}\n\n`)
      catchUp().catch(() => disconnect('STORE_UNAVAILABLE', 'the stream failed; reconnect later'))
    }
  })
}
