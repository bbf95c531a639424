import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { parseConfig } from '../src/config'

describe('configuration: PostgreSQL', function () {
  it('reads DATABASE_URL and PG_POOL_SIZE (default 10) when POINT_STORE=postgres', function () {
    const url = 'postgres://ledger:secret@db:5432/points'
    expect(E.map((c: { postgres?: unknown }) => c.postgres)(parseConfig({ POINT_STORE: 'postgres', DATABASE_URL: url }))).to.deep.equal(
      E.right({ url, poolSize: 10 }),
    )
    const sized = parseConfig({ POINT_STORE: 'postgres', DATABASE_URL: url, PG_POOL_SIZE: '32' })
    expect(E.map((c: { postgres?: { poolSize: number } }) => c.postgres?.poolSize)(sized)).to.deep.equal(E.right(32))
  })

  it('stops the start when POINT_STORE=postgres has no DATABASE_URL, saying which variable is missing', function () {
    for (const env of [{ POINT_STORE: 'postgres' }, { POINT_STORE: 'postgres', DATABASE_URL: '' }]) {
      const result = parseConfig(env)
      expect(E.isLeft(result) && result.left).to.include('DATABASE_URL')
    }
  })

  it('refuses a pool size that is not a positive whole number', function () {
    const result = parseConfig({ POINT_STORE: 'postgres', DATABASE_URL: 'postgres://h/db', PG_POOL_SIZE: '0' })
    expect(E.isLeft(result) && result.left).to.include('PG_POOL_SIZE')
  })
})
