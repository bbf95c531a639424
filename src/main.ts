import * as E from 'fp-ts/Either'
import type { AddressInfo } from 'node:net'
import { readConfig } from './config'
import { createLogger } from './http/logging'
import { startService } from './service'

async function main(): Promise<void> {
  const config = readConfig()
  if (E.isLeft(config)) {
    console.error(config.left)
    process.exitCode = 1
    return
  }
  const logger = createLogger(config.right.logLevel)
  const service = await startService(config.right, logger)
  const { address, port } = service.server.address() as AddressInfo
  logger.info({ store: config.right.store.kind, limits: config.right.limits }, `listening on http://${address}:${port}`)

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down')
    service.stop().then(
      () => {
        logger.info('shutdown complete')
        process.exit(0)
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', shutdown).once('SIGINT', shutdown)
}

main().catch((error: unknown) => {
  console.error(`point-ledger failed to start: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
