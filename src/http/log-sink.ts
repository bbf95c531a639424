import pino from 'pino'

// Lines short of a full buffer wait at most this long, so a quiet service's log still reads as live.
const flushEveryMillis = 100

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
  /** Lines taken since the last flush; the timer skips the syscall when none came. */
  private pending = false
  /** The reader went away: lines are dropped from then on, and nothing waits for it. */
  private gone = false

  constructor(dest: number | string, bufferBytes: number) {
    const buffered = bufferBytes > 0
    // sonic-boom writes once it holds `minLength` bytes, in writes of at most `maxWrite`, and needs the first smaller.
    this.file = pino.destination({ dest, sync: true, ...(buffered ? { minLength: bufferBytes - 1, maxWrite: bufferBytes } : {}) })
    this.file.on('error', (error: NodeJS.ErrnoException) => {
      // No one reads the log any more: drop the lines and keep serving. Any other failure (a full disk) is thrown
      // to whatever was writing, a request's log line or the timer, as an unbuffered write's would be.
      if (error.code !== 'EPIPE') throw error
      this.gone = true
    })
    this.timer = buffered ? setInterval(() => this.flush(), flushEveryMillis).unref() : undefined
  }

  write(line: string): void {
    if (this.gone) return
    this.pending = true
    this.file.write(line)
  }

  /** Writes what is buffered now; `done`, for pino's `logger.flush`, is called once it is written. */
  flush(done?: () => void): void {
    if (this.pending && !this.gone) {
      this.pending = false
      this.file.flush()
    }
    done?.()
  }

  /** Writes what is buffered and stops the timer; for the process's `exit`, so it must not throw. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.gone) return
    try {
      this.file.flushSync()
    } catch {
      // Nowhere left to write it.
    }
  }
}
