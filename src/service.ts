import { mkdirSync } from 'node:fs'
import type { Server } from 'node:http'
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import type { Config } from './config'
import { createLedger, type Ledger } from './events/ledger'
import type { PointStore } from './events/store'
import { createApp } from './http/app'
import { MemoryStore } from './stores/memory'
import { openSqliteStore } from './stores/sqlite'

export function openStore(config: Config): PointStore {
  switch (config.store) {
    case 'memory':
      return new MemoryStore()
    case 'sqlite':
      mkdirSync(dirname(config.sqlitePath), { recursive: true })
      return openSqliteStore(config.sqlitePath)
  }
}

export interface Service {
  readonly server: Server
  readonly ledger: Ledger
  /** Stops taking connections, lets accepted commands finish, then closes the store. */
  stop(): Promise<void>
}

/** Wires a store, the ledger and the HTTP app, and starts listening. */
export async function startService(config: Config, logger: Logger, store = openStore(config)): Promise<Service> {
  const ledger = createLedger({ store, limits: config.limits })
  const app = createApp({ ledger, logger })
  const server = app.listen(config.port, config.host)
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve).once('error', reject)
  })

  const stop = async (): Promise<void> => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await store.close()
  }
  return { server, ledger, stop }
}
