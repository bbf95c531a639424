import { createParser, type EventSourceMessage } from 'eventsource-parser'

/** What a stream gave, in order: a message, a comment line, or its end. */
export type SseItem = { readonly kind: 'message'; readonly message: EventSourceMessage } | { readonly kind: 'comment'; readonly text: string } | { readonly kind: 'end' }

export interface SseClient {
  readonly status: number
  readonly contentType: string | null
  /** The next item, waiting for it if need be. */
  readonly next: () => Promise<SseItem>
  /** Items up to and including the first that `until` accepts. */
  readonly collect: (until: (item: SseItem) => boolean) => Promise<SseItem[]>
  /** Hangs up, as a client that goes away. */
  readonly close: () => Promise<void>
}

/** Opens `url` as an EventSource would and parses what comes, item by item. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const abort = new AbortController()
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal })
  const items: SseItem[] = []
  let wake: (() => void) | undefined
  const push = (item: SseItem) => {
    items.push(item)
    wake?.()
  }
  const parser = createParser({
    onEvent: (message) => push({ kind: 'message', message }),
    onComment: (text) => push({ kind: 'comment', text: text.trim() }),
  })
  const reading = (async () => {
    const decoder = new TextDecoder()
    try {
      for await (const chunk of response.body ?? []) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }))
    } catch {
      // Hung up by `close`, or cut by the server: either way the stream has ended.
    }
    push({ kind: 'end' })
  })()
  const next = async (): Promise<SseItem> => {
    while (items.length === 0) await new Promise<void>((resolve) => (wake = resolve))
    return items.shift()!
  }
  const collect = async (until: (item: SseItem) => boolean): Promise<SseItem[]> => {
    const seen: SseItem[] = []
    for (;;) {
      const item = await next()
      seen.push(item)
      if (until(item) || item.kind === 'end') return seen
    }
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    next,
    collect,
    close: async () => {
      abort.abort()
      await reading
    },
  }
}

export const messages = (items: readonly SseItem[]): EventSourceMessage[] => items.flatMap((item) => (item.kind === 'message' ? [item.message] : []))
