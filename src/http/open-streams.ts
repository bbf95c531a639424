import type { ServerResponse } from 'node:http'

/**
 * The feed streams one app serves now, for its bound (FEED_MAX_STREAMS) and its metrics. A stream is counted from
 * the moment it is served until its response has closed, not only until the stream ends: that is once the last
 * bytes have gone to the operating system, or the connection has closed. A client disconnected as too slow keeps
 * the buffer of its unsent bytes, and the slot with it, until then.
 */
export class OpenStreams {
  private open = 0

  get count(): number {
    return this.open
  }

  /** Counts the stream `response` carries until the response closes. */
  hold(response: ServerResponse): void {
    this.open++
    response.once('close', () => {
      this.open--
    })
  }
}
