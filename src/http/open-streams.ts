import type { ServerResponse } from 'node:http'

/**
 * The feed streams one app serves now, for its bound (FEED_MAX_STREAMS) and its metrics. A stream is counted from
 * its first byte until its connection has closed, not only until the stream ends: a client disconnected as too
 * slow keeps its unsent bytes until it reads them or its grace period cuts it off.
 */
export class OpenStreams {
  private open = 0

  get count(): number {
    return this.open
  }

  /** Counts the stream `response` carries until its connection closes. */
  hold(response: ServerResponse): void {
    this.open++
    response.once('close', () => {
      this.open--
    })
  }
}
