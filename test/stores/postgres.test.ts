import { postgresFixture } from '../support/postgres'
import { storeContract } from './contract'
import { groupCommitSuite } from './group-commit'
import { pruningSuite } from './pruning'

storeContract('postgres', (options) => postgresFixture(options))
groupCommitSuite('postgres', (options) => postgresFixture(options))
pruningSuite('postgres', (options) => postgresFixture(options))
