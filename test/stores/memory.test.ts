import { fastMemoryStore } from '../support/tables'
import { storeContract } from './contract'

storeContract('memory (given tables)', () =>
  Promise.resolve({ store: fastMemoryStore(), dispose: () => Promise.resolve() }),
)
