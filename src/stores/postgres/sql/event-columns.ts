/**
 * The columns an event is read back with, as the `StoredEvent` codec decodes it: shared by a user's history and
 * the change feed, so a column added to events reaches both.
 */
export const eventColumns = 'id, user_id AS "userId", type, amount, time_millis AS "timeMillis", ref, expires_millis AS "expiresAt"'
