import { postgresFixture } from '../support/postgres'
import { storeContract } from './contract'

storeContract('postgres', () => postgresFixture())
