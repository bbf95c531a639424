import { sqliteFixture } from '../support/sqlite'
import { concurrencySuite } from './concurrency-suite'

concurrencySuite('sqlite', () => sqliteFixture())
