import { fastMemoryStore } from '../support/tables'
import { generatedClientSuite } from './client-suite'

generatedClientSuite('memory store (given tables)', () => Promise.resolve({ store: fastMemoryStore(), dispose: () => Promise.resolve() }))
