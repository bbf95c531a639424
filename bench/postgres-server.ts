import { asAdmin, startEmbedded, type PostgresServer } from '../tools/embedded-postgres'

/** DATABASE_URL's server if it is set, else an embedded one on a loopback port, stopped by the caller. */
export async function benchServer(): Promise<PostgresServer> {
  // eslint-disable-next-line no-restricted-properties
  const given = process.env.DATABASE_URL
  if (given === undefined || given === '') return startEmbedded()
  return { url: (db) => Object.assign(new URL(given), { pathname: `/${db}` }).toString(), stop: () => Promise.resolve() }
}

let created = 0

/** A new, empty database on `server`, so no run sees another's rows. */
export async function scratchDatabase(server: PostgresServer): Promise<string> {
  const name = `bench_${Date.now()}_${++created}`
  await asAdmin(server, `CREATE DATABASE ${name}`)
  return server.url(name)
}
