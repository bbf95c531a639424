import { expect } from 'chai'
import { Client } from 'pg'
import { CapturedLog, startLoggedServer } from '../support/captured-log'
import { postgresFixture } from '../support/postgres'
import { patchJson, type TestServer } from '../support/server'

const charge = (server: TestServer, user: number, amount: number) => patchJson(`${server.url}/point/${user}/charge`, { amount })

async function expectProblem(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).to.equal(status)
  expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/)
  expect(await response.json()).to.include({ status, code })
}

const loggedError = (line: Record<string, unknown> | undefined) => line?.['error'] as { code?: string; message?: string } | undefined

/**
 * PostgreSQL faults that leave reads working: a table locked against writes by another session (as a long
 * migration or a stray `LOCK TABLE` would), and a row edited past the schema's CHECKs.
 */
describe('store faults over HTTP (PostgreSQL)', function () {
  this.timeout(30_000)
  let fixture: Awaited<ReturnType<typeof postgresFixture>>
  let admin: Client
  let log: CapturedLog
  let server: TestServer

  beforeEach(async function () {
    fixture = await postgresFixture({ statementTimeoutMillis: 300 })
    admin = new Client({ connectionString: fixture.url })
    await admin.connect()
    log = new CapturedLog()
    server = await startLoggedServer(fixture.store, log)
    expect((await charge(server, 1, 100)).status).to.equal(200)
  })
  afterEach(async function () {
    await server.close()
    await admin.end()
    await fixture.dispose()
  })

  const readyz = () => fetch(`${server.url}/readyz`)

  it('is not ready after a commit failed while reads answer, logs PostgreSQL\'s code, and is ready once writes go through', async function () {
    await admin.query('BEGIN')
    await admin.query('LOCK TABLE events IN EXCLUSIVE MODE')
    try {
      await expectProblem(await charge(server, 1, 5), 503, 'STORE_UNAVAILABLE')
      // 57014: the statement was cancelled by the statement timeout, waiting for the lock.
      expect(loggedError(log.failed('/point/:id/charge')[0])).to.include({ code: '57014' })
      expect((await fetch(`${server.url}/point/1`)).status, 'reads still answer').to.equal(200)
      await expectProblem(await readyz(), 503, 'STORE_UNAVAILABLE')
      expect(loggedError(log.failed('/readyz')[0])).to.include({ code: '57014' })
    } finally {
      await admin.query('ROLLBACK')
    }
    // No command came in between: readiness itself found that writes work again.
    expect((await readyz()).status).to.equal(200)
    expect((await charge(server, 1, 5)).status).to.equal(200)
  })

  it('answers a negative balance row 500 STORE_CORRUPT, logs the row, and stays ready', async function () {
    await admin.query('ALTER TABLE balances DROP CONSTRAINT balances_point_check')
    await admin.query('UPDATE balances SET point = -5 WHERE user_id = 1')
    await expectProblem(await fetch(`${server.url}/point/1`), 500, 'STORE_CORRUPT')
    await expectProblem(await charge(server, 1, 5), 500, 'STORE_CORRUPT')
    expect(loggedError(log.failed('/point/:id')[0])).to.deep.equal({ code: 'STORE_CORRUPT', message: 'balances row user_id 1 does not decode: bad point' })
    expect(loggedError(log.failed('/point/:id/charge')[0])).to.include({ code: 'STORE_CORRUPT' })
    expect((await readyz()).status).to.equal(200)
  })
})
