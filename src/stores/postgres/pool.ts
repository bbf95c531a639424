import pg, { type Pool, type PoolClient } from 'pg'

/** Whatever runs a statement: the pool, or a client holding a transaction. */
export type Executor = Pick<PoolClient, 'query'>

export interface PoolOptions {
  /** Connections this instance may hold; each in-flight batch or read takes one. */
  readonly poolSize?: number
  /** How long a request waits for a connection before it is answered as a fault. */
  readonly connectTimeoutMillis?: number
  /** Longest a statement may run, lock waits included, before it is cancelled and answered as a fault; 0: no limit. */
  readonly statementTimeoutMillis?: number
  /** Called with each pool error that no request was waiting on (an idle connection dropped). */
  readonly onIdleError?: (error: Error) => void
}

// BIGINT columns come back as strings by default; every value stored here is a safe integer.
const types = new pg.TypeOverrides()
types.setTypeParser(pg.types.builtins.INT8, Number)

export const defaultConnectTimeoutMillis = 2_000

export function createPool(url: string, options: PoolOptions = {}): Pool {
  const statementTimeout = options.statementTimeoutMillis ?? 5_000
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMillis ?? defaultConnectTimeoutMillis,
    // The server cancels a statement that runs too long, a wait for a row lock included; the connection stays
    // usable. A server that stops answering altogether is caught here a second later: that query fails and
    // its connection is thrown away, instead of the command hanging until TCP gives up, minutes later.
    ...(statementTimeout > 0 && { statement_timeout: statementTimeout, query_timeout: statementTimeout + 1_000 }),
    // A host that vanishes without closing its connections is probed after 10 s idle, not the OS's 2 hours;
    // the OS's probe interval and count still decide when the connection is declared dead.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    types,
  })
  // Without a listener, an idle connection dropped by the server would crash the process.
  // The pool discards that client itself; the next request opens a new one.
  pool.on('error', options.onIdleError ?? (() => undefined))
  return pool
}

/** A pool of one connection without the timeouts, for migrations: an instance may wait for another's to finish. */
export async function withMigrationPool(url: string, connectTimeoutMillis: number, work: (pool: Pool) => Promise<unknown>): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: connectTimeoutMillis })
  pool.on('error', () => undefined)
  try {
    await work(pool)
  } finally {
    await pool.end()
  }
}

/** Runs `work` in one transaction on a client of its own; a failure rolls it back and rethrows. */
export async function transaction(pool: Pool, work: (client: PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect()
  let broken: Error | undefined
  // Checked out, a client's connection error between two statements is emitted, not thrown: without a
  // listener it would crash the process. The next statement then fails, and the batch with it.
  const onError = (error: Error) => (broken = error)
  client.on('error', onError)
  try {
    await client.query('BEGIN')
    await work(client)
    await client.query('COMMIT')
  } catch (error) {
    broken = error instanceof Error ? error : new Error(String(error))
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  } finally {
    // A client whose transaction failed may have lost its connection: the pool replaces it.
    client.off('error', onError)
    client.release(broken)
  }
}
