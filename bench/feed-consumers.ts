import { get, type ClientRequest } from 'node:http'
import { createInterface } from 'node:readline'

/**
 * `tsx bench/feed-consumers.ts URL N`: N live SSE streams on URL's /events/stream in a process of their own, so
 * that the load generator does not share a thread with them. Told `open` on stdin, it opens them at the feed's
 * end, as consumers that are keeping up do (one catching up from the start is a different load: it reads the
 * whole backlog), and prints `ready` once every stream has answered; told `close`, it closes them and prints
 * `bytes N`, what they got. They read and discard, as cheap a client as there is. The process lives across rounds,
 * so its own start (loading, compiling: about 150 ms of CPU in its first second here) is not charged to a round.
 */
const [url = '', count = '10'] = process.argv.slice(2)

const page = (after: string): Promise<{ events: unknown[]; next: string }> =>
  fetch(`${url}/events?after=${after}&limit=10000`).then((res) => res.json() as Promise<{ events: unknown[]; next: string }>)

/** The position after the last event committed now. */
async function end(): Promise<string> {
  let after = '0'
  for (;;) {
    const { events, next } = await page(after)
    if (events.length === 0) return after
    after = next
  }
}

let bytes = 0
let streams: ClientRequest[] = []

async function open(): Promise<void> {
  const after = await end()
  let answered = 0
  streams = Array.from({ length: Number(count) }, () =>
    get(`${url}/events/stream?after=${after}`, (res) => {
      res.on('data', (chunk: Buffer) => (bytes += chunk.length))
      res.on('error', () => undefined)
      if (++answered === Number(count)) console.log('ready')
    }).on('error', () => undefined),
  )
}

function close(): void {
  for (const stream of streams) stream.destroy()
  streams = []
  console.log(`bytes ${bytes}`)
  bytes = 0
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'open') void open()
  if (line === 'close') close()
})
process.once('SIGTERM', () => process.exit(0))
