import { fastMemoryStore } from '../support/tables'
import { modelSuite } from './suite'

modelSuite('memory (given tables)', () => Promise.resolve({ store: fastMemoryStore({ min: 1, max: 3 }), dispose: () => Promise.resolve() }))
