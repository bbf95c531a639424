import { postgresFixture } from '../support/postgres'
import { generatedClientSuite } from './client-suite'

generatedClientSuite('postgres', () => postgresFixture())
