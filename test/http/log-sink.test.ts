import { expect } from 'chai'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import fs, { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { LogSink, maxUnwrittenBytes } from '../../src/http/log-sink'
import { tempDir, type TempDir } from '../support/sqlite'

const root = resolve(__dirname, '../..')
const line = (n: number) => `${JSON.stringify({ n, msg: 'y'.repeat(80) })}\n`

/** Resolves once `check` holds, polling every few milliseconds; rejects after `withinMillis`. */
const eventually = async (check: () => boolean, withinMillis: number): Promise<void> => {
  const deadline = Date.now() + withinMillis
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not so within ${withinMillis} ms`)
    await new Promise((next) => setTimeout(next, 5))
  }
}

describe('LogSink: where log lines go (LOG_BUFFER_BYTES)', function () {
  let dir: TempDir
  let file: string
  const sinks: LogSink[] = []
  const written = () => readFileSync(file, 'utf8')
  const open = (bufferBytes: number) => {
    const sink = new LogSink(file, bufferBytes)
    sinks.push(sink)
    return sink
  }
  beforeEach(async function () {
    dir = await tempDir()
    file = join(dir.path, 'log')
  })
  afterEach(async function () {
    sinks.splice(0).forEach((sink) => sink.close())
    await dir.remove()
  })

  it('at 0 writes each line as it comes', function () {
    const sink = open(0)
    sink.write(line(1))
    expect(written()).to.equal(line(1))
  })

  it('holds lines in memory until a buffer would overflow, then writes whole lines, never more than the buffer at once', function () {
    const sink = open(1024)
    sink.write(line(1))
    expect(written(), 'one line is held').to.equal('')
    for (let n = 2; n <= 12; n++) sink.write(line(n))
    const first = written()
    expect(first.length).to.be.greaterThan(0).and.at.most(1024)
    expect(first.endsWith('\n'), 'only whole lines').to.equal(true)
    sink.flush()
    expect(written()).to.equal(Array.from({ length: 12 }, (_, i) => line(i + 1)).join(''))
  })

  it('writes what it holds on its own within a short time, without being asked', async function () {
    const sink = open(4096)
    sink.write(line(1))
    await eventually(() => written() === line(1), 2_000)
  })

  it('writes what it holds on close, as the process exits', function () {
    const sink = open(4096)
    sink.write(line(1))
    sink.write(line(2))
    sink.close()
    expect(written()).to.equal(line(1) + line(2))
  })

  it('throws a failed write other than EPIPE (a full disk) to the line that makes it, buffered or not, and closes without waiting on it', function () {
    const unbuffered = new LogSink('/dev/full', 0)
    sinks.push(unbuffered)
    expect(() => unbuffered.write(line(1))).to.throw(/ENOSPC/)
    const buffered = new LogSink('/dev/full', 1024)
    sinks.push(buffered)
    buffered.write(line(1))
    expect(() => {
      for (let n = 2; n <= 12; n++) buffered.write(line(n))
    }).to.throw(/ENOSPC/)
    // sonic-boom's own flushSync would retry this write every 100 ms for ever.
    expect(() => buffered.close()).to.not.throw()
  })

  it('keeps at most maxUnwrittenBytes while writes keep failing (a full disk), buffered or not: later lines are dropped', function () {
    for (const bufferBytes of [0, 1024]) {
      const sink = new LogSink('/dev/full', bufferBytes)
      sinks.push(sink)
      let failed = 0
      // Twice the bound in lines, each write failing or dropped.
      for (let n = 0; n < (2 * maxUnwrittenBytes) / line(0).length; n++) {
        try {
          sink.write(line(n))
        } catch {
          failed++
        }
      }
      expect(failed, `${bufferBytes}: the failures were thrown`).to.be.greaterThan(0)
      expect(sink.unwrittenBytes, `${bufferBytes}: kept in memory`).to.be.greaterThan(maxUnwrittenBytes - line(0).length).and.at.most(maxUnwrittenBytes)
    }
  })

  it('writes what it kept, and logs again, once a full disk has room, buffered or not', function () {
    for (const bufferBytes of [0, 1024]) {
      const path = join(dir.path, `recovers-${bufferBytes}`)
      const sink = new LogSink(path, bufferBytes)
      sinks.push(sink)
      const realWrite = fs.writeSync
      fs.writeSync = (() => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
      })
      try {
        for (let n = 0; n < (2 * maxUnwrittenBytes) / line(0).length; n++) {
          try {
            sink.write(line(n))
          } catch {
            // The full disk, thrown to the line that met it.
          }
        }
      } finally {
        fs.writeSync = realWrite
      }
      const kept = sink.unwrittenBytes
      sink.write(line(-1))
      sink.flush()
      const text = readFileSync(path, 'utf8')
      expect(text.length, `${bufferBytes}: what was kept is written`).to.be.at.least(kept)
      expect(text.endsWith(line(-1)), `${bufferBytes}: the next line follows it`).to.equal(true)
      expect(sink.unwrittenBytes).to.equal(0)
    }
  })

  /** The child's stdout lines, and its exit. */
  const child = (bufferBytes: number, ending: 'exit' | 'crash') => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', 'test/support/log-sink-child.ts', String(bufferBytes), ending], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    const exited = once(process_, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
    const stdout = process_.stdout!
    const lines: string[] = []
    const ready = new Promise<void>((resolved, failed) => {
      createInterface({ input: stdout }).on('line', (text) => {
        lines.push(text)
        if (text === '{"msg":"ready"}') resolved()
      })
      void exited.then(([code]) => failed(new Error(`the child exited with ${String(code)} before it was ready`)))
    })
    return { process: process_, stdout, exited, lines, ready }
  }

  it('does not hold up the exit once the reader has gone (EPIPE): the lines are dropped', async function () {
    const { process: logging, stdout, exited, ready } = child(4096, 'exit')
    await ready
    // The reader goes away: every later write fails with EPIPE.
    stdout.destroy()
    const told = once(logging, 'message')
    logging.send('go')
    expect((await told)[0], '200 lines taken without a throw').to.equal('written')
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'still running'>((resolved) => (timer = setTimeout(() => resolved('still running'), 10_000)))
    const outcome = await Promise.race([exited, late])
    clearTimeout(timer)
    expect(outcome, 'the process outlived its work').to.not.equal('still running')
    expect(outcome).to.deep.equal([0, null])
  })

  it('writes the lines it holds when the process dies of an uncaught error', async function () {
    const { process: logging, stdout, exited, lines, ready } = child(4096, 'crash')
    const stdoutClosed = once(stdout, 'close')
    await ready
    logging.send('go')
    const [code] = await exited
    await stdoutClosed
    expect(code).to.equal(1)
    expect(lines.slice(1).map((text) => (JSON.parse(text) as { n: number }).n)).to.deep.equal([1, 2, 3])
  })
})
