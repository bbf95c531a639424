import type { Executor } from '../pool'

/**
 * A transaction that changes no data, for readiness after a failed commit: it takes the table locks an append
 * takes, so a table locked against writes fails it as it fails appends, and a transaction id, so its commit
 * writes a WAL record as an append's does; a read-only server (a standby, `default_transaction_read_only`) refuses it.
 */
export async function writeProbe(db: Executor): Promise<void> {
  await db.query('LOCK TABLE events, balances, receipts IN ROW EXCLUSIVE MODE')
  await db.query('SELECT pg_current_xact_id()')
}
