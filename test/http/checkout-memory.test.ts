import { fastMemoryStore } from '../support/tables'
import { checkoutSuite } from './checkout-suite'

checkoutSuite('memory (given tables)', () => Promise.resolve({ store: fastMemoryStore(), dispose: () => Promise.resolve() }))
