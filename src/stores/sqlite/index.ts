export { openDatabase, type SqliteOpenOptions } from './database'
export { openSqliteStore, SqliteStore, type SqliteStoreOptions } from './store'
export type { Commit } from '../sql/rows'
