import { openPostgresStore } from '../../src/stores/postgres'
import { postgresFixture } from '../support/postgres'
import { modelSuite } from './suite'

// Two instances on one database, each with its own cache of decided states.
modelSuite('postgres, two instances', async () => {
  const fixture = await postgresFixture()
  const twin = await openPostgresStore(fixture.url)
  return {
    ...fixture,
    twin,
    dispose: async () => {
      await twin.close()
      await fixture.dispose()
    },
  }
})
