import * as E from 'fp-ts/Either'
import type { AddressInfo } from 'node:net'
import { readConfig } from './config'
import { LogSink } from './http/log-sink'
import { createLogger } from './http/logging'
import { startService } from './service'

// How long the store may take to close after the drain timeout, before the process ends regardless.
const closeMarginMs = 5_000

/** Logs, if the log can still be written: a reader that went away (EPIPE) must not keep the process from ending. */
const say = (write: () => void): void => {
  try {
    write()
  } catch {
    // Nowhere left to say it.
  }
}

async function main(): Promise<void> {
  const config = readConfig()
  if (E.isLeft(config)) {
    console.error(config.left)
    process.exitCode = 1
    return
  }
  const sink = new LogSink(1, config.right.logBufferBytes)
  // Every way out passes here, a signal's drain, the deadline, a crash: what the buffer holds is written first.
  process.once('exit', () => sink.close())
  const logger = createLogger(config.right.logLevel, sink)
  const service = await startService(config.right, logger)
  let stopping = false
  const shutdown = (signal: string) => {
    // A second signal while draining means "stop now", as the signal's own default would, but through `exit`, so
    // the lines the buffer holds are written first.
    if (stopping) {
      say(() => logger.warn({ signal }, 'stopping at once, without waiting for the drain'))
      return process.exit(1)
    }
    stopping = true
    // Should the stop itself hang, the process still ends: the drain timeout, then a margin for the store to close.
    setTimeout(() => process.exit(1), config.right.shutdownTimeoutMs + closeMarginMs).unref()
    say(() => logger.info({ signal }, 'shutting down'))
    sink.flush()
    let code = 1
    service
      .stop()
      .then(
        () => {
          code = 0
          say(() => logger.info('shutdown complete'))
        },
        (error: unknown) => say(() => logger.error({ err: error }, 'shutdown failed')),
      )
      .finally(() => process.exit(code))
  }
  process.on('SIGTERM', shutdown).on('SIGINT', shutdown)
  // Only now: whoever waits for this line may signal at once, and the line is written before the next statement runs.
  const { address, port } = service.server.address() as AddressInfo
  logger.info({ store: config.right.store.kind, limits: config.right.limits }, `listening on http://${address}:${port}`)
  sink.flush()
}

main().catch((error: unknown) => {
  console.error(`point-ledger failed to start: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
