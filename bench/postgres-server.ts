import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
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

/**
 * CPU time a process has used so far, in µs, from /proc (Linux): user plus system clock ticks, fields 14 and 15
 * of its stat line, at the usual 100 ticks a second; with `children`, also that of its children it has reaped.
 */
export function cpuMicros(pid: number, children = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number)
  const ticks = fields[11]! + fields[12]! + (children ? fields[13]! + fields[14]! : 0)
  return ticks * 10_000
}

/**
 * How to read the CPU time the PostgreSQL server behind `url` has used so far, in µs: its postmaster's, the
 * backends it has reaped, and those still running. Only for a server on this machine whose data directory this
 * process may read (the embedded one); undefined otherwise.
 */
export async function postgresCpu(url: string): Promise<(() => number) | undefined> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory')
    const postmaster = Number(readFileSync(join(rows[0]!.data_directory, 'postmaster.pid'), 'utf8').split('\n')[0])
    return () => {
      let total = cpuMicros(postmaster, true)
      for (const entry of readdirSync('/proc')) {
        if (!/^[0-9]+$/.test(entry)) continue
        try {
          const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
          if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) total += cpuMicros(Number(entry))
        } catch {
          // The backend ended between the listing and the read; its time is in the postmaster's children's now.
        }
      }
      return total
    }
  } catch {
    return undefined
  } finally {
    await client.end()
  }
}
