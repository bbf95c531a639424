import { postgresFixture } from '../support/postgres'
import { modelSuite } from './suite'

modelSuite('postgres', () => postgresFixture())
