import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { compiledScript } from './compiled'

/**
 * `npm run bench:profile -- --server group --load charge`: one `bench/server.ts` server under `node --cpu-prof`,
 * loaded by autocannon as `bench:http` loads it, then the top of its main thread's profile: self time by package
 * and by function, as shares of the samples in which the thread was not idle. Startup is in the profile too;
 * over a 10 s load it is a few per cent. Options: --server (a bench/server.ts kind), --load charge|hot|get,
 * --duration (s), --connections, --top (functions listed), --keep (a folder to keep the .cpuprofile in).
 */
const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'group' },
    load: { type: 'string', default: 'charge' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    top: { type: 'string', default: '25' },
    keep: { type: 'string' },
  },
})
const root = resolve(__dirname, '..')
const anyUser = (): number => 1 + Math.floor(Math.random() * 10_000)
const paths: Record<string, () => string> = {
  charge: () => `/point/${anyUser()}/charge`,
  hot: () => '/point/1/charge',
  get: () => `/point/${anyUser()}`,
}

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly callFrame: CallFrame
  readonly hitCount: number
}

/** Where a frame's code lives: a package, Node's own modules, a project file, or the VM. */
const home = (frame: CallFrame, file: boolean): string => {
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)'
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)?.[1]
  if (inPackage !== undefined) return inPackage
  if (frame.url.startsWith('node:')) return file ? frame.url : 'node internals'
  const local = frame.url.replace(`file://${root}/`, '')
  return file ? local : local.replace(/[^/]*$/, '')
}

function printTop(nodes: readonly ProfileNode[], top: number): void {
  const busy = nodes.filter((n) => n.callFrame.functionName !== '(idle)')
  const total = nodes.reduce((sum, n) => sum + n.hitCount, 0)
  const busyTotal = busy.reduce((sum, n) => sum + n.hitCount, 0)
  const tally = (key: (n: ProfileNode) => string) => {
    const sums = new Map<string, number>()
    for (const n of busy) sums.set(key(n), (sums.get(key(n)) ?? 0) + n.hitCount)
    return [...sums].sort((a, b) => b[1] - a[1])
  }
  const share = (hits: number) => `${((100 * hits) / busyTotal).toFixed(1).padStart(5)}%`
  console.log(`${total} samples, ${Math.round((100 * busyTotal) / total)}% not idle; shares below are of those`)
  console.log('self time by package or folder:')
  for (const [where, hits] of tally((n) => home(n.callFrame, false)).slice(0, 12)) console.log(`${share(hits)}  ${where}`)
  console.log(`top ${top} functions by self time:`)
  const name = ({ callFrame: f }: ProfileNode) => `${f.functionName || '(anonymous)'} ${f.url === '' ? '' : `${home(f, true)}:${f.lineNumber + 1}`}`
  for (const [fn, hits] of tally(name).slice(0, top)) console.log(`${share(hits)}  ${fn}`)
}

async function main(): Promise<void> {
  const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'point-ledger-profile-'))
  mkdirSync(dir, { recursive: true })
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...compiledScript('bench/server.ts'), values.server, join(dir, 'bench.db')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  })
  const port = await new Promise<string>((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`the ${values.server} server exited with ${String(code)}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const found = /^listening (\d+)$/.exec(line)?.[1]
      if (found !== undefined) ready(found)
    })
  })
  const path = paths[values.load] ?? paths['charge']!
  const method = values.load === 'get' ? 'GET' : 'PATCH'
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: Number(values.connections),
    duration: Number(values.duration),
    requests: [{ method, setupRequest: (req) => ({ ...req, path: path(), ...(method === 'PATCH' ? { body: '{"amount":1}', headers: { 'content-type': 'application/json' } } : {}) }) }],
  })
  child.removeAllListeners('exit')
  const exited = new Promise((done) => child.once('exit', done))
  child.kill('SIGINT')
  await exited
  console.log(`node --cpu-prof bench/server.ts ${values.server}, ${values.load} load: ${Math.round(result.requests.average)} req/s, ${result.non2xx + result.errors} non-2xx/errors`)
  // A worker thread (`floor-worker`'s) writes a profile of its own; the main thread's is the big one.
  const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f))
  const main = profiles.sort((a, b) => statSync(b).size - statSync(a).size)[0]
  if (main === undefined) throw new Error('no profile was written')
  printTop((JSON.parse(readFileSync(main, 'utf8')) as { nodes: ProfileNode[] }).nodes, Number(values.top))
  if (values.keep === undefined) rmSync(dir, { recursive: true, force: true })
  else console.log(`kept ${main}`)
}

void main()
