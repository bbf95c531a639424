import { sqliteFixture } from '../support/sqlite'
import { httpSuite } from './suite'

httpSuite('sqlite', () => sqliteFixture())
