export { openPostgresStore, PostgresStore, type PostgresStoreOptions } from './store'
