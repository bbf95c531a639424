import { sqliteFixture } from '../support/sqlite'
import { modelSuite } from './suite'

modelSuite('sqlite', () => sqliteFixture())
