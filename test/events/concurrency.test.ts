import { fastMemoryStore } from '../support/tables'
import { concurrencySuite } from './concurrency-suite'

// The given tables, with random delays short enough for a fast suite but never zero.
concurrencySuite('memory store (given tables, 1–8 ms delays)', () =>
  Promise.resolve({ store: fastMemoryStore({ min: 1, max: 8 }), dispose: () => Promise.resolve() }),
)
