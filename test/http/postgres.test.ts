import { postgresFixture } from '../support/postgres'
import { idempotencySuite } from './idempotency-suite'
import { httpSuite } from './suite'

httpSuite('postgres', () => postgresFixture())
idempotencySuite('postgres', () => postgresFixture())
