import Sqlite, { type Database } from 'better-sqlite3'
import { expect } from 'chai'
import { join } from 'node:path'
import { openDatabase, SqliteStore } from '../src/stores/sqlite'
import { patchJson, startTestServer, type TestServer } from './support/server'
import { tempDir, type TempDir } from './support/sqlite'

const users = [1, 2, 3]

async function expectStoreUnavailable(response: Response): Promise<void> {
  expect(response.status).to.equal(503)
  expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/)
  expect(await response.json()).to.include({ status: 503, code: 'STORE_UNAVAILABLE' })
}

const charge = (server: TestServer, user: number, amount: number) => patchJson(`${server.url}/point/${user}/charge`, { amount })
const use = (server: TestServer, user: number, amount: number) => patchJson(`${server.url}/point/${user}/use`, { amount })

async function point(server: TestServer, user: number): Promise<unknown> {
  const body = (await (await fetch(`${server.url}/point/${user}`)).json()) as { point: unknown }
  return body.point
}

async function historyLength(server: TestServer, user: number): Promise<number> {
  return ((await (await fetch(`${server.url}/point/${user}/histories`)).json()) as unknown[]).length
}

/**
 * Faults in the SQLite file, seen through HTTP. Tests run as root, where file
 * permissions do not stop writes, so each fault is made the way SQLite itself
 * reports it: a read-only connection (`query_only`, which fails writes with
 * SQLITE_READONLY as a write-protected file does) and a lock held by another connection.
 */
describe('store faults over HTTP (SQLite)', function () {
  let dir: TempDir
  let db: Database
  let server: TestServer

  beforeEach(async function () {
    dir = await tempDir()
    db = openDatabase(join(dir.path, 'points.db'), { busyTimeoutMillis: 20 })
    server = await startTestServer({ store: new SqliteStore(db) })
    for (const user of users) expect((await charge(server, user, 100)).status).to.equal(200)
  })
  afterEach(async function () {
    await server.close()
    await dir.remove()
  })

  it('answers 503 while the file is read-only, writes nothing, and serves again once it is writable', async function () {
    db.pragma('query_only = ON')
    const responses = await Promise.all(users.flatMap((user) => [charge(server, user, 5), use(server, user, 7)]))
    for (const response of responses) await expectStoreUnavailable(response)
    for (const user of users) {
      expect(await point(server, user)).to.equal(100)
      expect(await historyLength(server, user)).to.equal(1)
    }

    db.pragma('query_only = OFF')
    const recovered = await Promise.all(users.map((user) => charge(server, user, 5)))
    expect(recovered.map((r) => r.status)).to.deep.equal([200, 200, 200])
    for (const user of users) {
      expect(await point(server, user)).to.equal(105)
      expect(await historyLength(server, user)).to.equal(2)
    }
  })

  it('answers 503 while another process holds the write lock, writes nothing, and serves again once it lets go', async function () {
    const other = new Sqlite(join(dir.path, 'points.db'))
    try {
      other.exec('BEGIN IMMEDIATE')
      const responses = await Promise.all(users.map((user) => charge(server, user, 5)))
      for (const response of responses) await expectStoreUnavailable(response)
      other.exec('ROLLBACK')

      for (const user of users) expect(await historyLength(server, user)).to.equal(1)
      const recovered = await Promise.all(users.map((user) => use(server, user, 30)))
      expect(recovered.map((r) => r.status)).to.deep.equal([200, 200, 200])
      for (const user of users) expect(await point(server, user)).to.equal(70)
    } finally {
      other.close()
    }
  })
})
