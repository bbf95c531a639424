import { sqliteFixture } from '../support/sqlite'
import { checkoutSuite } from './checkout-suite'

checkoutSuite('sqlite', () => sqliteFixture())
