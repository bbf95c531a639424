/**
 * The feed transaction an appended event is stored with (`events.tx`, read by `read-feed.ts`), given the SQL for
 * the `tx` of the user's event before it (NULL for a user's first). It is the writing transaction's id, raised to
 * at least that previous event's, so that a user's events sort in version order in the feed: a transaction may
 * take its id long before it writes a user (`appendLocked` takes it when it asks for the row's lock, then waits
 * while others write the user), and would otherwise sort its events before earlier versions. A raised value is
 * the id of a transaction that has ended, below the xmin of any later snapshot, so the feed's wait still covers
 * it. Every append statement sets it this way; until migration step 7 a per-row trigger did, which cost the
 * writers more (see docs/concurrency.md).
 */
export const feedTx = (previous: string): string => `greatest(pg_current_xact_id(), ${previous})`
