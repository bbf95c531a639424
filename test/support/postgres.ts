import { randomBytes } from 'node:crypto'
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../../src/stores/postgres'
import { asAdmin, startEmbedded, type PostgresServer } from '../../tools/embedded-postgres'
import type { StoreFixture } from '../stores/contract'

export type { PostgresServer }

let server: Promise<PostgresServer> | undefined

// eslint-disable-next-line no-restricted-properties
const givenUrl = process.env.DATABASE_URL ?? ''

/** Whether this run starts its own server, which a test may then stop and start again. */
export const embedded = givenUrl === ''

/**
 * The run's server, started on first use: `DATABASE_URL` if it is set (the test
 * environment may name one), otherwise an embedded PostgreSQL on a loopback port
 * in a temporary folder, stopped by the root hook below once every suite is done.
 */
export function postgresServer(): Promise<PostgresServer> {
  server ??= embedded ? startEmbedded() : Promise.resolve(onUrl(givenUrl))
  return server
}

after(async function () {
  this.timeout(30_000)
  if (server !== undefined) await (await server).stop()
})

function onUrl(given: string): PostgresServer {
  return {
    url: (database) => {
      const url = new URL(given)
      url.pathname = `/${database}`
      return url.toString()
    },
    stop: () => Promise.resolve(),
  }
}

export interface FreshDatabase {
  readonly url: string
  readonly drop: () => Promise<void>
}

/** A new, empty database on the run's server, so suites never see each other's rows. */
export async function freshDatabase(): Promise<FreshDatabase> {
  const pgServer = await postgresServer()
  const name = `ledger_${randomBytes(6).toString('hex')}`
  await asAdmin(pgServer, `CREATE DATABASE ${name}`)
  const drop = () => asAdmin(pgServer, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  return { url: pgServer.url(name), drop }
}

/** A new, empty PostgreSQL store on its own database, dropped on dispose. */
export async function postgresFixture(options: PostgresStoreOptions = {}): Promise<StoreFixture & { store: PostgresStore; url: string }> {
  const database = await freshDatabase()
  const store = await openPostgresStore(database.url, options)
  return {
    store,
    url: database.url,
    dispose: async () => {
      await store.close()
      await database.drop()
    },
  }
}
