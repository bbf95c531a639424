import * as TE from 'fp-ts/TaskEither'
import { pipe } from 'fp-ts/function'
import { fitsForm, type FeedEntry, type FeedPosition, type FeedQuery } from '../events/feed'
import { asFailure, storeUnavailable, type PointStore, type StoreFailure } from '../events/store'

/** A page of the change feed and where the next one starts: its last position, or where this one started. */
export interface FeedPage {
  readonly entries: readonly FeedEntry[]
  readonly next: FeedPosition
}

/** The change feed's use case: every user's events after a position, oldest first. */
export interface FeedReads {
  readonly feedPage: (query: FeedQuery) => TE.TaskEither<StoreFailure, FeedPage>
  /**
   * Whether this store could have given `position`: one of another store's form (a PostgreSQL position on SQLite,
   * or the other way round) must be refused, not read. Read, it would find nothing, or everything, forever.
   */
  readonly readsPosition: (position: FeedPosition) => boolean
}

export const createFeedReads = (store: PointStore): FeedReads => ({
  readsPosition: (position) => store.feedPositions === undefined || fitsForm(position, store.feedPositions),
  feedPage: (query) =>
    pipe(
      store.feed?.(query) ?? TE.left(storeUnavailable(new Error('this store keeps no change feed'))),
      TE.mapLeft(asFailure),
      TE.map((entries) => ({ entries, next: entries.at(-1)?.position ?? query.after })),
    ),
})
