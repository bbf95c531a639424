import Sqlite, { type Database } from 'better-sqlite3'
import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { unlinkSync } from 'node:fs'
import { rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { PointEvent } from '../src/events/model'
import { openDatabase, openSqliteStore, SqliteStore } from '../src/stores/sqlite'
import { CapturedLog, startLoggedServer } from './support/captured-log'
import { startServiceProcess } from './support/process'
import { patchJson, startTestServer, type TestServer } from './support/server'
import { tempDir, type TempDir } from './support/sqlite'
import { amount, userId } from './support/values'

const users = [1, 2, 3]

const chargeEvent = (user: number, n: number): PointEvent => ({ type: 'CHARGE', userId: userId(user), amount: amount(n), timeMillis: 5 })

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

/** The `error` a request's failure line names. */
const loggedError = (line: Record<string, unknown> | undefined) => line?.['error'] as { code?: string; message?: string } | undefined

describe('readiness and logs after a failed commit (SQLite)', function () {
  let dir: TempDir
  let db: Database
  let log: CapturedLog
  let server: TestServer

  beforeEach(async function () {
    dir = await tempDir()
    db = openDatabase(join(dir.path, 'points.db'), { busyTimeoutMillis: 20 })
    log = new CapturedLog()
    server = await startLoggedServer(new SqliteStore(db), log)
    expect((await charge(server, 1, 100)).status).to.equal(200)
  })
  afterEach(async function () {
    await server.close()
    await dir.remove()
  })

  const readyz = () => fetch(`${server.url}/readyz`)

  it('is not ready once a commit failed on a read-only file, finds out by itself when it is writable, and logs the code', async function () {
    expect((await readyz()).status).to.equal(200)
    db.pragma('query_only = ON')
    await expectStoreUnavailable(await charge(server, 1, 5))
    const failedCharge = log.failed('/point/:id/charge')
    expect(failedCharge).to.have.length(1)
    expect(loggedError(failedCharge[0])).to.include({ code: 'SQLITE_READONLY', message: 'attempt to write a readonly database' })
    expect(JSON.stringify(failedCharge[0]), 'the body is never logged').not.to.contain('amount')

    await expectStoreUnavailable(await readyz())
    expect(loggedError(log.failed('/readyz')[0])).to.include({ code: 'SQLITE_READONLY' })
    // Reads still work: the probe that keeps it unready is a write.
    expect(await point(server, 1)).to.equal(100)
    await expectStoreUnavailable(await readyz())

    db.pragma('query_only = OFF')
    // No command came in between: readiness itself found that writes work again.
    expect((await readyz()).status).to.equal(200)
    expect((await charge(server, 1, 5)).status).to.equal(200)
    expect(await point(server, 1)).to.equal(105)
  })

  it('is not ready while another process holds the write lock after a commit failed on it, and ready once it lets go', async function () {
    const other = new Sqlite(join(dir.path, 'points.db'))
    try {
      other.exec('BEGIN IMMEDIATE')
      await expectStoreUnavailable(await charge(server, 1, 5))
      expect(loggedError(log.failed('/point/:id/charge')[0])).to.include({ code: 'SQLITE_BUSY' })
      await expectStoreUnavailable(await readyz())
      other.exec('ROLLBACK')
      expect((await readyz()).status).to.equal(200)
    } finally {
      other.close()
    }
  })
})

describe('the SQLite file deleted or replaced while open', function () {
  let dir: TempDir
  let path: string
  let log: CapturedLog
  let server: TestServer

  beforeEach(async function () {
    dir = await tempDir()
    path = join(dir.path, 'points.db')
    log = new CapturedLog()
    server = await startLoggedServer(openSqliteStore(path), log)
    for (const user of users) expect((await charge(server, user, 100)).status).to.equal(200)
  })
  afterEach(async function () {
    await server.close()
    await dir.remove()
  })

  /** The balances a fresh start on the path finds, as a restarted service would. */
  async function restartedBalances(): Promise<unknown[]> {
    await server.close()
    const store = openSqliteStore(path)
    try {
      const found = await Promise.all(users.map((user) => store.balance(userId(user))()))
      return found.map((result) => (E.isRight(result) ? result.right.point : result.left))
    } finally {
      await store.close()
    }
  }

  /** After the file moved: writes and readiness 503, each failure logged with `code`. */
  async function expectRefused(code: string): Promise<void> {
    const writes = await Promise.all(users.flatMap((user) => [charge(server, user, 5), use(server, user, 7)]))
    for (const response of writes) await expectStoreUnavailable(response)
    for (const line of log.failed('/point/:id/charge')) expect(loggedError(line)).to.include({ code })
    expect(log.failed('/point/:id/charge')).to.have.length(users.length)
    await expectStoreUnavailable(await fetch(`${server.url}/readyz`))
    expect(loggedError(log.failed('/readyz')[0])).to.include({ code })
    expect(loggedError(log.failed('/readyz')[0])?.message).to.contain(path)
  }

  it('refuses writes and readiness once the file is deleted, and acknowledges nothing a restart would not find', async function () {
    await unlink(path)
    await expectRefused('STORE_FILE_DELETED')
    // The deleted file took the balances with it; none of the refused writes went anywhere a restart looks.
    expect(await restartedBalances()).to.deep.equal([0, 0, 0])
  })

  it('refuses writes and readiness once another file is renamed over it; a restart finds that file as it was put there', async function () {
    const copy = join(dir.path, 'copy.db')
    const source = new Sqlite(path)
    await source.backup(copy)
    source.close()
    await rename(copy, path)
    await expectRefused('STORE_FILE_REPLACED')
    // Every acknowledged write predates the copy, so the restart misses none, and finds none of the refused ones.
    expect(await restartedBalances()).to.deep.equal([100, 100, 100])
  })

  it('refuses writes and readiness once its write-ahead log is deleted, and saves what the log held into the file', async function () {
    await unlink(`${path}-wal`)
    await expectRefused('STORE_FILE_DELETED')
    expect(await restartedBalances()).to.deep.equal([100, 100, 100])
  })

  it('refuses writes and readiness once the write-ahead log\'s index is deleted, which a second process would rebuild apart', async function () {
    await unlink(`${path}-shm`)
    await expectRefused('STORE_FILE_DELETED')
    expect(await restartedBalances()).to.deep.equal([100, 100, 100])
  })
})

describe('a commit the file was deleted under (SQLite)', function () {
  it('is answered as a fault, not acknowledged: the check runs after the commit, before the answer', async function () {
    const dir = await tempDir()
    const path = join(dir.path, 'points.db')
    let deleteOnCommit = false
    const store = openSqliteStore(path, { onCommit: () => deleteOnCommit && unlinkSync(path) })
    try {
      const first = await store.append(userId(1), 0, { events: [chargeEvent(1, 3)], projection: { balance: 3, version: 1 }, receipts: [] })()
      expect(E.isRight(first)).to.equal(true)
      deleteOnCommit = true
      const second = await store.append(userId(1), 1, { events: [chargeEvent(1, 4)], projection: { balance: 7, version: 2 }, receipts: [] })()
      expect(E.isLeft(second) && second.left._tag === 'StoreUnavailable' && second.left.cause).to.include({ code: 'STORE_FILE_DELETED' })
    } finally {
      await store.close()
      await dir.remove()
    }
  })
})

describe('corrupt rows over HTTP (SQLite)', function () {
  let dir: TempDir
  let db: Database
  let log: CapturedLog
  let server: TestServer

  beforeEach(async function () {
    dir = await tempDir()
    db = openDatabase(join(dir.path, 'points.db'))
    log = new CapturedLog()
    server = await startLoggedServer(new SqliteStore(db), log)
    for (const user of users) expect((await charge(server, user, 100)).status).to.equal(200)
  })
  afterEach(async function () {
    await server.close()
    await dir.remove()
  })

  /** Edits a row past the schema's CHECKs, as a hand edit with `ignore_check_constraints` would. */
  const tamper = (sql: string) => {
    db.pragma('ignore_check_constraints = ON')
    db.prepare(sql).run()
    db.pragma('ignore_check_constraints = OFF')
  }

  async function expectCorrupt(response: Response): Promise<void> {
    expect(response.status).to.equal(500)
    expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/)
    const body = (await response.json()) as Record<string, unknown>
    expect(body).to.include({ status: 500, code: 'STORE_CORRUPT' })
    expect(JSON.stringify(body), 'the answer shows neither the table nor the values').not.to.match(/balances|events|-5|BONUS/)
  }

  it("answers a negative balance on the user's last event 500 STORE_CORRUPT on reads and commands, logs the row, and stays ready", async function () {
    // The balance is read from the user's last event; its column has no CHECK, so a plain edit gets a bad value in.
    tamper('UPDATE events SET balance_after = -5 WHERE user_id = 1')
    await expectCorrupt(await fetch(`${server.url}/point/1`))
    await expectCorrupt(await charge(server, 1, 5))
    expect(loggedError(log.failed('/point/:id')[0])).to.deep.equal({ code: 'STORE_CORRUPT', message: 'events row user_id 1, last version does not decode: bad point' })
    expect(loggedError(log.failed('/point/:id/charge')[0])).to.include({ code: 'STORE_CORRUPT' })
    expect((await fetch(`${server.url}/readyz`)).status, 'corruption is not an outage').to.equal(200)
    expect((await charge(server, 2, 5)).status, 'other users are served').to.equal(200)
    expect(await historyLength(server, 1)).to.equal(1)
  })

  it('answers an events row of unknown type 500 STORE_CORRUPT on histories and logs its id', async function () {
    const id = db.prepare('SELECT id FROM events WHERE user_id = 2').pluck().get() as number
    tamper(`UPDATE events SET type = 'BONUS' WHERE id = ${id}`)
    await expectCorrupt(await fetch(`${server.url}/point/2/histories`))
    expect(loggedError(log.failed('/point/:id/histories')[0])?.message).to.equal(`events row id ${id} does not decode: bad type`)
  })
})

describe('the SQLite write-ahead log deleted, then a crash', function () {
  this.timeout(30_000)

  it('loses no acknowledged write: what the deleted log held was saved into the data file before the crash', async function () {
    const dir = await tempDir()
    const path = join(dir.path, 'points.db')
    const service = await startServiceProcess({ POINT_STORE: 'sqlite', SQLITE_PATH: path })
    try {
      const served = { url: service.url } as TestServer
      for (const user of users) expect((await charge(served, user, 100)).status).to.equal(200)
      await unlink(`${path}-wal`)
      await expectStoreUnavailable(await charge(served, 1, 5))
      await service.kill()

      const store = openSqliteStore(path)
      try {
        const found = await Promise.all(users.map((user) => store.balance(userId(user))()))
        expect(found.map((result) => (E.isRight(result) ? result.right.point : result.left))).to.deep.equal([100, 100, 100])
      } finally {
        await store.close()
      }
    } finally {
      await service.kill()
      await dir.remove()
    }
  })
})
