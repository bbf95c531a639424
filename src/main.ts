import * as E from 'fp-ts/Either'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import { readConfig } from './config'
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

/**
 * Stdout written synchronously, as Node writes it to pipes anyway. pino's own asynchronous stdout flushes at exit
 * and, once the reader has gone (EPIPE), retries that flush forever, so the process would never end.
 */
const stdoutSink = (): pino.DestinationStream => {
  const sink = pino.destination({ dest: 1, sync: true })
  sink.on('error', (error: NodeJS.ErrnoException) => {
    // No one reads the log any more: drop the lines and keep serving.
    if (error.code !== 'EPIPE') throw error
  })
  return sink
}

async function main(): Promise<void> {
  const config = readConfig()
  if (E.isLeft(config)) {
    console.error(config.left)
    process.exitCode = 1
    return
  }
  const logger = createLogger(config.right.logLevel, stdoutSink())
  const service = await startService(config.right, logger)
  const shutdown = (signal: string) => {
    // Should the stop itself hang, the process still ends: the drain timeout, then a margin for the store to close.
    setTimeout(() => process.exit(1), config.right.shutdownTimeoutMs + closeMarginMs).unref()
    say(() => logger.info({ signal }, 'shutting down'))
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
  process.once('SIGTERM', shutdown).once('SIGINT', shutdown)
  // Only now: whoever waits for this line may signal at once, and the line is written before the next statement runs.
  const { address, port } = service.server.address() as AddressInfo
  logger.info({ store: config.right.store.kind, limits: config.right.limits }, `listening on http://${address}:${port}`)
}

main().catch((error: unknown) => {
  console.error(`point-ledger failed to start: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
