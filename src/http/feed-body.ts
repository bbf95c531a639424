import { positionText, type FeedEntry, type FeedEvent } from '../events/feed'
import { movementTypes } from '../events/model'
import { eventBody, historyRow } from './routes'

/** The events a history lists, and so the ones with a history id on every store. */
const listed = (event: FeedEvent): event is FeedEvent & { readonly id: number } => event.id !== undefined && movementTypes.includes(event.type)

/**
 * One feed item as `GET /events` and the stream send it: its position, and the event exactly as a history shows
 * it, so whatever an event holds reaches the feed too. An event no history lists carries no `id`, on any store.
 */
export const feedItem = ({ position, event }: FeedEntry) => ({ position: positionText(position), event: listed(event) ? historyRow(event) : eventBody(event) })
