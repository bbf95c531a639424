import { expect } from 'chai'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { tempDir, type TempDir } from './support/sqlite'

const root = resolve(__dirname, '..')

/** The entry point `npm start` compiles and runs, here under tsx: the service in its own process, with only the variables given. */
const start = (env: Record<string, string>): ChildProcessWithoutNullStreams =>
  spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, stdio: 'pipe' })

/** Resolves with the first stdout line matching `pattern`; rejects if the process ends first. */
const lineMatching = (child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<string> =>
  new Promise((found, failed) => {
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      if (pattern.test(line)) {
        lines.close()
        found(line)
      }
    })
    child.once('exit', (code) => failed(new Error(`exited with ${code} before printing ${pattern}`)))
  })

const collect = (stream: NodeJS.ReadableStream): (() => string) => {
  let text = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => (text += chunk))
  return () => text
}

describe('the service process (src/main.ts)', function () {
  const children: ChildProcessWithoutNullStreams[] = []
  // The default store, SQLite, on a file of the test's own: never the operator's ./data/points.db.
  let dir: TempDir
  beforeEach(async function () {
    dir = await tempDir()
  })
  afterEach(async function () {
    // A test that failed half-way must not leave its service running.
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        child.kill('SIGKILL')
        await exited
      }
    }
    await dir.remove()
  })

  it('prints where it listens, serves there, and stops on SIGTERM with exit code 0', async function () {
    const child = start({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SQLITE_PATH: join(dir.path, 'points.db') })
    children.push(child)
    const line = await lineMatching(child, /listening on http:\/\//)
    const url = /http:\/\/[^\s"]+/.exec(line)?.[0]
    expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)

    const response = await fetch(`${url}/point/1`)
    expect(response.status).to.equal(200)
    expect(await response.json()).to.include({ id: 1, point: 0 })

    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null]
    expect({ code, signal }).to.deep.equal({ code: 0, signal: null })
  })

  it('writes every line it buffered before it exits on SIGTERM: the requests\' and the shutdown\'s', async function () {
    // LOG_BUFFER_BYTES unset: its default holds lines in memory.
    const child = start({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SQLITE_PATH: join(dir.path, 'points.db') })
    children.push(child)
    const lines: string[] = []
    const line = await new Promise<string>((found, failed) => {
      createInterface({ input: child.stdout }).on('line', (text) => {
        lines.push(text)
        if (/listening on http:\/\//.test(text)) found(text)
      })
      child.once('exit', (code) => failed(new Error(`exited with ${code} before listening`)))
    })
    const url = /http:\/\/[^\s"]+/.exec(line)?.[0]
    const ids = ['first-request', 'second-request', 'third-request']
    for (const id of ids) expect((await fetch(`${url}/point/1`, { headers: { 'x-request-id': id } })).status).to.equal(200)
    const closed = once(child, 'close')
    child.kill('SIGTERM')
    // 'close' comes after stdout ends, so every line has been read.
    const [code] = (await closed) as [number | null]
    expect(code).to.equal(0)
    const logged = lines.map((text) => JSON.parse(text) as { reqId?: string; msg: string })
    expect(logged.flatMap(({ reqId }) => (reqId === undefined ? [] : [reqId]))).to.deep.equal(ids)
    expect(logged.at(-1)?.msg).to.equal('shutdown complete')
  })

  it('stops at once on a second SIGTERM during the drain, exiting 1, with every line it buffered written', async function () {
    const child = start({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '60000', SQLITE_PATH: join(dir.path, 'points.db') })
    children.push(child)
    const lines: string[] = []
    createInterface({ input: child.stdout }).on('line', (text) => lines.push(text))
    const url = new URL(/http:\/\/[^\s"]+/.exec(await lineMatching(child, /listening on http:\/\//))?.[0] ?? '')
    expect((await fetch(`${url.origin}/point/1`, { headers: { 'x-request-id': 'before-the-signals' } })).status).to.equal(200)
    // A request whose body never finishes keeps the drain waiting, for up to SHUTDOWN_TIMEOUT_MS. Node answers
    // `Expect: 100-continue` in the same turn as it hands the request to the app, which takes it in before its first
    // wait (for the body): so once `100 Continue` is here, the request is in flight before the signal. Without that,
    // a signal handled before the request's headers made the drain refuse it (a 503 line after 'shutting down').
    const socket = connect(Number(url.port), url.hostname)
    await once(socket, 'connect')
    socket.setEncoding('utf8')
    const continued = new Promise<string>((resolve) => {
      let seen = ''
      socket.on('data', (chunk: string) => {
        seen += chunk
        if (seen.includes('\r\n\r\n')) resolve(seen)
      })
    })
    socket.write('PATCH /point/1/charge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\nExpect: 100-continue\r\n\r\n')
    expect(await continued).to.match(/^HTTP\/1\.1 100 Continue\r\n/)
    socket.write('{"am')
    const closed = once(child, 'close')
    const draining = lineMatching(child, /"shutting down"/)
    child.kill('SIGTERM')
    // The drain's first line is written at once, so the second signal comes while the drain waits.
    await draining
    child.kill('SIGTERM')
    const [code] = (await closed) as [number | null]
    socket.destroy()
    expect(code).to.equal(1)
    const logged = lines.map((text) => JSON.parse(text) as { reqId?: string; msg: string })
    expect(logged.some(({ reqId }) => reqId === 'before-the-signals'), 'the request line buffered before the signals').to.equal(true)
    expect(logged.map(({ msg }) => msg).slice(-2)).to.deep.equal(['shutting down', 'stopping at once, without waiting for the drain'])
  })

  it('exits once stopped even when its stdout has gone, as when piped to `head -1`', async function () {
    const child = start({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '1000', SQLITE_PATH: join(dir.path, 'points.db') })
    children.push(child)
    const line = await lineMatching(child, /listening on http:\/\//)
    const url = /http:\/\/[^\s"]+/.exec(line)?.[0]
    // The reader goes away: every later write to stdout fails with EPIPE, those of the lines it buffers too.
    child.stdout.destroy()
    for (let n = 1; n <= 50; n++) expect((await fetch(`${url}/point/${n}`)).status).to.equal(200)
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    // Past the drain timeout and the margin main.ts allows on top of it.
    const bound = 1000 + 5_000 + 2_000
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), bound)))
    const outcome = await Promise.race([exited, late])
    clearTimeout(timer)
    expect(outcome, 'the process outlived its shutdown').to.not.equal('still running')
    const [code] = outcome as [number | null]
    expect(code, 'listener and store closed: a clean stop').to.equal(0)
    const refused = await fetch(`${url}/healthz`).then(
      () => 'answered',
      () => 'refused',
    )
    expect(refused).to.equal('refused')
  })

  it('refuses to start on a bad setting, exiting non-zero with a message naming it', async function () {
    const child = start({ PORT: '0', POINT_MAX_AMOUNT: 'abc', SQLITE_PATH: join(dir.path, 'points.db') })
    children.push(child)
    const stdout = collect(child.stdout)
    const stderr = collect(child.stderr)
    // 'close' comes after the output streams end, so all of stderr has arrived.
    const [code] = (await once(child, 'close')) as [number | null]
    expect(code).to.be.a('number').and.not.equal(0)
    expect(stderr()).to.include('POINT_MAX_AMOUNT').and.include('abc')
    expect(stdout()).not.to.match(/listening/)
  })
})

describe('npm start itself', function () {
  let dir: TempDir
  let npm: ChildProcessWithoutNullStreams | undefined
  let servicePid: number | undefined
  beforeEach(async function () {
    dir = await tempDir()
  })
  afterEach(async function () {
    // A test that failed half-way must not leave npm or the service running.
    if (npm !== undefined && npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL')
    if (servicePid !== undefined && alive(servicePid)) process.kill(servicePid, 'SIGKILL')
    npm = undefined
    servicePid = undefined
    await dir.remove()
  })

  /** Whether a process with this pid still exists (signal 0 only asks). */
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }

  it('serves the API from the compiled output, then stops gracefully on SIGTERM to npm: npm exits 0 and no process is left serving', async function () {
    this.timeout(40_000)
    // A file no source compiles to any more: a build from scratch leaves none such to be run in a source's stead.
    const stale = join(root, 'dist', 'src', 'stale.js')
    mkdirSync(join(root, 'dist', 'src'), { recursive: true })
    writeFileSync(stale, '')
    const child = spawn('npm', ['start', '--silent'], {
      cwd: root,
      // npm and tsc need PATH and the like; the store is the test's own.
      // eslint-disable-next-line no-restricted-properties
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SQLITE_PATH: join(dir.path, 'points.db') },
      stdio: 'pipe',
    })
    npm = child
    const exited = once(child, 'exit')
    const closed = once(child, 'close')
    // Every line is kept, to look for the last one after the exit.
    const lines: string[] = []
    const line = await new Promise<string>((found, failed) => {
      createInterface({ input: child.stdout }).on('line', (text) => {
        lines.push(text)
        if (/listening on http:\/\//.test(text)) found(text)
      })
      void exited.then(([code]) => failed(new Error(`npm exited with ${String(code)} before listening`)))
    })
    const url = /http:\/\/[^\s"]+/.exec(line)?.[0]
    const { pid } = JSON.parse(line) as { pid: number }
    servicePid = pid
    expect(pid, 'the service is a process of its own under npm').to.not.equal(child.pid)
    expect(existsSync(stale), 'the build starts from an empty dist/').to.equal(false)
    // What npm start runs is tsc's output, not the sources every other test runs (Linux says how it was started).
    if (existsSync(`/proc/${pid}/cmdline`)) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).to.include('dist/src/main.js')
    expect((await fetch(`${url}/healthz`)).status).to.equal(200)
    const charged = await fetch(`${url}/point/7/charge`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"amount":40}' })
    expect(charged.status).to.equal(200)
    expect(await (await fetch(`${url}/point/7`)).json()).to.include({ id: 7, point: 40 })

    child.kill('SIGTERM')
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null]
    expect({ code, signal }).to.deep.equal({ code: 0, signal: null })
    expect(alive(pid), 'the service process outlived npm').to.equal(false)
    const answered = await fetch(`${url}/healthz`).then(
      () => 'answered',
      () => 'refused',
    )
    expect(answered).to.equal('refused')
    // 'close' comes after stdout ends, so every line has been read.
    await closed
    expect(lines.at(-1)).to.match(/"msg":"shutdown complete"/)
  })
})
