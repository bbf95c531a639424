import { postgresFixture } from '../support/postgres'
import { storeContract } from './contract'
import { feedContract } from './feed-contract'
import { groupCommitSuite } from './group-commit'
import { pruningSuite } from './pruning'

storeContract('postgres', (options) => postgresFixture(options))
feedContract('postgres', () => postgresFixture())
groupCommitSuite('postgres', (options) => postgresFixture(options))
pruningSuite('postgres', (options) => postgresFixture(options))
