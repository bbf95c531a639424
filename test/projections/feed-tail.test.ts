import { expect } from 'chai'
import * as TE from 'fp-ts/TaskEither'
import type { FeedEntry, FeedQuery } from '../../src/events/feed'
import { FeedTail } from '../../src/projections/feed-tail'
import { amount, userId } from '../support/values'

/** A feed that grows by one event per read, and tells when each read starts. */
const growingFeed = () => {
  const starts: number[] = []
  const waiting: Array<() => void> = []
  let last = 0
  const read = ({ after }: FeedQuery) => {
    starts.push(performance.now())
    waiting.splice(0).forEach((told) => told())
    last += 1
    const entry: FeedEntry = { position: { commit: 0, event: last }, event: { type: 'CHARGE', userId: userId(1), amount: amount(1), timeMillis: last } }
    return TE.right({ entries: entry.position.event > after.event ? [entry] : [], next: entry.position })
  }
  /** Resolves once `n` reads have started. */
  const reads = async (n: number) => {
    while (starts.length < n) await new Promise<void>((told) => waiting.push(told))
    return starts
  }
  return { read, reads }
}

describe('the feed tail', function () {
  it('reads once for the commits of a spacing, and the next wake no sooner than a spacing after', async function () {
    const feed = growingFeed()
    const spacingMillis = 150
    const tail = new FeedTail(feed.read, { pollMillis: 60_000, pageLimit: 100, wakeMillis: 5, spacingMillis })
    const batches: number[][] = []
    const listener = (batch: readonly FeedEntry[]) => batches.push(batch.map(({ position }) => position.event))
    expect(tail.join({ commit: 0, event: 0 }, listener)).to.equal(true)
    try {
      for (let i = 0; i < 10; i++) tail.wake()
      await feed.reads(1)
      // Commits that keep coming after the first read: one more read for all of them, a spacing after the first
      // (less a millisecond or two: a timer's clock is a coarser one).
      for (let i = 0; i < 10; i++) tail.wake()
      const [first, second] = await feed.reads(2)
      expect(second! - first!).to.be.at.least(spacingMillis - 2)
      tail.wake()
      const [, , third] = await feed.reads(3)
      expect(third! - second!).to.be.at.least(spacingMillis - 2)
      expect(batches.slice(0, 2), 'each read handed on once').to.deep.equal([[1], [2]])
    } finally {
      tail.leave(listener)
    }
  })

  it('reads a commit after a quiet spell without waiting a spacing', async function () {
    const feed = growingFeed()
    // Were the first wake to wait a spacing, this test would run out of time.
    const tail = new FeedTail(feed.read, { pollMillis: 60_000, pageLimit: 100, wakeMillis: 5, spacingMillis: 600_000 })
    const listener = () => undefined
    tail.join({ commit: 0, event: 0 }, listener)
    try {
      tail.wake()
      expect(await feed.reads(1)).to.have.length(1)
    } finally {
      tail.leave(listener)
    }
  })
})
