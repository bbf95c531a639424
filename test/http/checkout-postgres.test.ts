import { postgresFixture } from '../support/postgres'
import { checkoutSuite } from './checkout-suite'

checkoutSuite('postgres', () => postgresFixture())
