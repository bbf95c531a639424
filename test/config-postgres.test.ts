import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { parseConfig, type Config } from '../src/config'

describe('configuration: PostgreSQL', function () {
  it('reads DATABASE_URL, PG_POOL_SIZE (default 10) and PG_STATEMENT_TIMEOUT_MS (default 5000) when POINT_STORE=postgres', function () {
    const url = 'postgres://ledger:secret@db:5432/points'
    const postgres = (env: Record<string, string>) => E.map((c: Config) => c.store)(parseConfig({ POINT_STORE: 'postgres', ...env }))
    expect(postgres({ DATABASE_URL: url })).to.deep.equal(E.right({ kind: 'postgres', url, poolSize: 10, statementTimeoutMs: 5_000 }))
    expect(postgres({ DATABASE_URL: url, PG_POOL_SIZE: '32', PG_STATEMENT_TIMEOUT_MS: '750' })).to.deep.equal(
      E.right({ kind: 'postgres', url, poolSize: 32, statementTimeoutMs: 750 }),
    )
    expect(postgres({ DATABASE_URL: url, PG_STATEMENT_TIMEOUT_MS: '0' }), '0 turns it off').to.deep.equal(
      E.right({ kind: 'postgres', url, poolSize: 10, statementTimeoutMs: 0 }),
    )
  })

  it('stops the start when POINT_STORE=postgres has no DATABASE_URL, saying which variable is missing', function () {
    for (const env of [{ POINT_STORE: 'postgres' }, { POINT_STORE: 'postgres', DATABASE_URL: '' }]) {
      const result = parseConfig(env)
      expect(E.isLeft(result) && result.left).to.include('DATABASE_URL')
    }
  })

  it('refuses a pool size that is not a positive whole number, and a statement timeout that is not a whole number', function () {
    const bad: Array<[string, string]> = [['PG_POOL_SIZE', '0'], ['PG_STATEMENT_TIMEOUT_MS', '-1'], ['PG_STATEMENT_TIMEOUT_MS', '5s']]
    for (const [name, value] of bad) {
      const result = parseConfig({ POINT_STORE: 'postgres', DATABASE_URL: 'postgres://h/db', [name]: value })
      expect(E.isLeft(result) && result.left).to.include(name)
    }
  })
})
