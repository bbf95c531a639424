import type { Database } from 'better-sqlite3'
import { clearHolds } from './sql/clear-holds'
import { duplicateKeys } from './sql/duplicate-keys'
import { insertEvents } from './sql/insert-events'
import { insertHold } from './sql/insert-hold'
import { insertReceipts } from './sql/insert-receipts'
import { pruneReceipts } from './sql/prune-receipts'
import { readBalanceAt } from './sql/read-balance-at'
import { readBalanceWithHolds } from './sql/read-balance-with-holds'
import { readExpiredHolds } from './sql/read-expired-holds'
import { readFeed } from './sql/read-feed'
import { readHistory } from './sql/read-history'
import { readHolds } from './sql/read-holds'
import { readLastEvent } from './sql/read-last-event'
import { readReceipts } from './sql/read-receipts'
import { readEndings, readUses } from './sql/read-references'
import { scanEvents } from './sql/scan-events'
import { scanHolds } from './sql/scan-holds'

/** Every statement the store runs, prepared once on its connection: one SQL operation a file under `sql/`. */
export const prepareCatalogue = (db: Database) => ({
  readLastEvent: readLastEvent(db),
  readBalanceAt: readBalanceAt(db),
  readBalanceWithHolds: readBalanceWithHolds(db),
  readHistory: readHistory(db),
  readFeed: readFeed(db),
  readReceipts: readReceipts(db),
  insertEvents: insertEvents(db),
  insertReceipts: insertReceipts(db),
  scanEvents: scanEvents(db),
  duplicateKeys: duplicateKeys(db),
  scanHolds: scanHolds(db),
  clearHolds: clearHolds(db),
  insertHold: insertHold(db),
  pruneReceipts: pruneReceipts(db),
  readHolds: readHolds(db),
  readUses: readUses(db),
  readEndings: readEndings(db),
  readExpiredHolds: readExpiredHolds(db),
})

export type Catalogue = ReturnType<typeof prepareCatalogue>
