import { fastMemoryStore } from '../support/tables'
import { httpSuite } from './suite'

httpSuite('memory store (given tables)', () =>
  Promise.resolve({ store: fastMemoryStore(), dispose: () => Promise.resolve() }),
)
