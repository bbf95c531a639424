/**
 * A consumer of the change feed, run as its own process so that a test can kill it: it follows `GET /events` on
 * the URL given, and after each page saves the events it took and its checkpoint together, in one atomic file
 * write, so a restart resumes exactly where the saved state ends. Usage: feed-follower.ts URL STATE_FILE
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

interface FollowerState {
  readonly after: string
  readonly events: ReadonlyArray<{ readonly position: string; readonly event: Record<string, unknown> }>
}

interface Page {
  readonly events: FollowerState['events']
  readonly next: string
}

const [url = '', stateFile = ''] = process.argv.slice(2)
if (url === '' || stateFile === '') throw new Error('usage: feed-follower.ts URL STATE_FILE')

async function follow(state: FollowerState): Promise<never> {
  for (;;) {
    const response = await fetch(`${url}/events?after=${state.after}&limit=25`)
    if (response.status !== 200) throw new Error(`GET /events answered ${response.status}`)
    const page = (await response.json()) as Page
    if (page.events.length > 0) {
      state = { after: page.next, events: [...state.events, ...page.events] }
      writeFileSync(`${stateFile}.tmp`, JSON.stringify(state))
      renameSync(`${stateFile}.tmp`, stateFile)
      console.log(`at ${state.after} with ${state.events.length}`)
    } else {
      // Caught up: a consumer's own polling pace.
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

const saved: FollowerState = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as FollowerState) : { after: '0', events: [] }
void follow(saved)
