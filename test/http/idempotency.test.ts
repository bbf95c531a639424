import { fastMemoryStore } from '../support/tables'
import { sqliteFixture } from '../support/sqlite'
import { idempotencySuite } from './idempotency-suite'

idempotencySuite('memory (given tables)', () => Promise.resolve({ store: fastMemoryStore(), dispose: () => Promise.resolve() }))
idempotencySuite('sqlite', () => sqliteFixture())
