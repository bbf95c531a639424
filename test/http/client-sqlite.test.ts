import { sqliteFixture } from '../support/sqlite'
import { generatedClientSuite } from './client-suite'

generatedClientSuite('sqlite', () => sqliteFixture())
