import { eventColumns } from './event-columns'
import type { Executor } from '../pool'

/**
 * Events of every user after a position `(tx, id)`, in that order, from transactions that have all ended. Ids are
 * taken before commit, so ordering by id alone would pass over an id whose transaction commits after a higher one
 * was read. Instead a transaction is read only once every transaction with a lower id than its own has ended:
 * the statement's snapshot says which are still running (its xmin), and rows below that are visible to the same
 * statement or never will be. A transaction that starts later gets a higher transaction id, so it sorts after
 * everything read so far. `tx` comes back as text (`commitTx`): an xid8 may exceed what the driver parses.
 */
export async function readFeed(db: Executor, after: { readonly commit: number; readonly event: number }, limit: number): Promise<unknown[]> {
  const { rows } = await db.query<Record<string, unknown>>({
    name: 'feed',
    // Ordered by the columns, named with their table: a bare `tx` would be the text output column, sorted as text.
    text: `SELECT events.tx::text AS "commitTx", ${eventColumns}
       FROM events
       WHERE (events.tx, events.id) > ($1::text::xid8, $2::bigint) AND events.tx < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY events.tx, events.id LIMIT $3`,
    values: [String(after.commit), after.event, limit],
  })
  return rows
}
