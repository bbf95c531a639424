import { get } from 'node:http'

/**
 * `tsx bench/feed-consumers.ts URL N`: N SSE streams on URL's /events/stream in a process of their own, so that
 * the load generator does not share a thread with them. They read and discard, as cheap a client as there is.
 * Prints `ready` once every stream has answered, and its byte count when told to stop (SIGTERM).
 */
const [url = '', count = '10'] = process.argv.slice(2)
let bytes = 0
let open = 0
for (let i = 0; i < Number(count); i++) {
  get(`${url}/events/stream`, (res) => {
    res.on('data', (chunk: Buffer) => (bytes += chunk.length))
    if (++open === Number(count)) console.log('ready')
  })
}
process.once('SIGTERM', () => {
  console.log(`bytes ${bytes}`)
  process.exit(0)
})
