import { positionText, type FeedEntry } from '../events/feed'
import { historyBody } from './routes'

/**
 * One feed item as `GET /events` and the stream send it: its position, and the event exactly as a history shows
 * it, so whatever an event holds reaches the feed too.
 */
export const feedItem = ({ position, event }: FeedEntry) => ({ position: positionText(position), event: historyBody([event])[0] })
