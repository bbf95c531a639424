import { createCommands, type CommandOptions } from '../events/command-side'
import type { Commands } from '../events/commands'
import { createFeedReads, type FeedReads } from './feed-reads'
import { createReads, type Reads } from './reads'

/** The use cases the service offers, commands and reads over one store; each HTTP route calls exactly one. */
export type Ledger = Commands & Reads & FeedReads

export type LedgerOptions = CommandOptions

/** Lives on the read side because it joins both: the command side never depends on the reads. */
export function createLedger(options: LedgerOptions): Ledger {
  return { ...createCommands(options), ...createReads(options.store, options.clock), ...createFeedReads(options.store) }
}
