import { postgresFixture } from '../support/postgres'
import { concurrencySuite } from './concurrency-suite'

concurrencySuite('postgres', () => postgresFixture())
