import { postgresFixture } from '../support/postgres'
import { storeContract } from './contract'
import { groupCommitSuite } from './group-commit'

storeContract('postgres', (options) => postgresFixture(options))
groupCommitSuite('postgres', (options) => postgresFixture(options))
