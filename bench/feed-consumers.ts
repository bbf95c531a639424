import { get } from 'node:http'

/**
 * `tsx bench/feed-consumers.ts URL N`: N live SSE streams on URL's /events/stream in a process of their own, so
 * that the load generator does not share a thread with them. They start at the feed's end, as consumers that are
 * keeping up do (one catching up from the start is a different load: it reads the whole backlog), and read and
 * discard, as cheap a client as there is. Prints `ready` once every stream has answered, and its byte count when
 * told to stop (SIGTERM).
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
let open = 0
void end().then((after) => {
  for (let i = 0; i < Number(count); i++) {
    get(`${url}/events/stream?after=${after}`, (res) => {
      res.on('data', (chunk: Buffer) => (bytes += chunk.length))
      if (++open === Number(count)) console.log('ready')
    })
  }
})
process.once('SIGTERM', () => {
  console.log(`bytes ${bytes}`)
  process.exit(0)
})
