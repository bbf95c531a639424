import { postgresFixture } from '../support/postgres'
import { storeContract } from './contract'
import { groupCommitSuite } from './group-commit'

storeContract('postgres', () => postgresFixture())
groupCommitSuite('postgres', (options) => postgresFixture(options))
