import pino from 'pino'

// Lines short of a full buffer wait at most this long, so a quiet service's log still reads as live.
const flushEveryMillis = 100

/**
 * The most a sink keeps unwritten while its writes fail (a full disk): lines beyond it are dropped, not kept, so a
 * service answering 503 for hours on a full disk does not also grow its memory by a line a request. (A single line
 * longer than this is dropped too.)
 */
export const maxUnwrittenBytes = 1024 * 1024

/**
 * Where the service's JSON lines go: a file descriptor (stdout) or a file, always written synchronously, so that no
 * write is ever in flight when the process ends. pino's asynchronous destination keeps one in flight and, once the
 * reader has gone (EPIPE), retried its exit flush forever, so the process never ended.
 *
 * With `bufferBytes` 0 every line is its own `write`, as before. Otherwise lines are kept in memory and written
 * together once the next could overflow `bufferBytes`, at the latest `flushEveryMillis` after the first, and at exit
 * (`close`): a `write` is a syscall, dear beside the line it carries. No write is larger than `bufferBytes` unless
 * one line alone is, so with 4 KiB (PIPE_BUF on Linux) the lines of processes sharing one pipe never interleave.
 * What a buffer holds is lost only if the process dies without an exit (SIGKILL, a power cut).
 */
export class LogSink implements pino.DestinationStream {
  private readonly file: ReturnType<typeof pino.destination>
  private readonly timer: NodeJS.Timeout | undefined
  /** Bytes taken and not yet written (sonic-boom's 'write' events say what went out): a flush with none is skipped. */
  private unwritten = 0
  /** The reader went away: lines are dropped from then on, and nothing waits for it. */
  private gone = false

  constructor(dest: number | string, bufferBytes: number) {
    const buffered = bufferBytes > 0
    // sonic-boom writes once it holds `minLength` bytes, in writes of at most `maxWrite`, and needs the first smaller.
    this.file = pino.destination({ dest, sync: true, maxLength: maxUnwrittenBytes, ...(buffered ? { minLength: bufferBytes - 1, maxWrite: bufferBytes } : {}) })
    this.file.on('error', (error: NodeJS.ErrnoException) => {
      // No one reads the log any more: drop the lines and keep serving. Any other failure (a full disk) is thrown
      // to whatever was writing, a request's log line as an unbuffered write's was.
      if (error.code !== 'EPIPE') throw error
      this.gone = true
    })
    this.file.on('write', (bytes: number) => {
      this.unwritten -= bytes
    })
    this.file.on('drop', (line: string) => {
      const bytes = Buffer.byteLength(line)
      this.unwritten -= bytes
      // sonic-boom tries its backlog again only on a line it keeps, and with the bound reached it keeps none: an
      // empty one retries it (unbuffered, no timer would), and once the disk has room this line follows it.
      this.file.write('')
      if (this.unwritten + bytes <= maxUnwrittenBytes) this.write(line)
    })
    this.timer = buffered ? setInterval(() => this.tick(), flushEveryMillis).unref() : undefined
  }

  /** What is taken and not yet written: at most `maxUnwrittenBytes`. */
  get unwrittenBytes(): number {
    return this.unwritten
  }

  write(line: string): void {
    if (this.gone) return
    this.unwritten += Buffer.byteLength(line)
    this.file.write(line)
  }

  /** Writes what is buffered now; `done`, for pino's `logger.flush`, is called once it is written. */
  flush(done?: () => void): void {
    if (this.unwritten > 0 && !this.gone) this.file.flush()
    done?.()
  }

  /**
   * The timer's flush. A failure other than EPIPE (a full disk) must not end the process from a timer: the lines
   * stay buffered, and the next request's line meets the error, as an unbuffered write's would.
   */
  private tick(): void {
    try {
      this.flush()
    } catch {
      // Kept for the next line's write to meet.
    }
  }

  /**
   * Writes what is buffered and stops the timer; for the process's `exit`, so it must neither throw nor wait. Not
   * sonic-boom's `flushSync`: it retries a failed write (a full disk, a closed pipe) every 100 ms for ever. A flush
   * writes one chunk, so this flushes until nothing is left, the reader has gone, or a flush wrote nothing.
   */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    try {
      while (this.unwritten > 0 && !this.gone) {
        const before = this.unwritten
        this.file.flush()
        if (this.unwritten >= before) break
      }
    } catch {
      // Nowhere left to write it.
    }
  }
}
