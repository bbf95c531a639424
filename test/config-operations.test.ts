import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { parseConfig, type Config } from '../src/config'

const parsed = (env: Record<string, string>): Config => {
  const config = parseConfig(env)
  if (E.isLeft(config)) throw new Error(config.left)
  return config.right
}

const refusal = (env: Record<string, string>): string => {
  const config = parseConfig(env)
  if (E.isRight(config)) throw new Error('expected the configuration to be refused')
  return config.left
}

describe('configuration: operations', function () {
  describe('POINT_API_KEYS', function () {
    it('is unset by default: the API runs open', function () {
      expect(parsed({}).apiKeys).to.equal(undefined)
      expect(parsed({ POINT_API_KEYS: undefined } as unknown as Record<string, string>).apiKeys).to.equal(undefined)
    })

    it('stops the start when set but empty, rather than running open', function () {
      const error = refusal({ POINT_API_KEYS: '' })
      expect(error).to.contain('POINT_API_KEYS').and.contain('set but empty').and.contain('unset it to run the API open')
    })

    it('reads key:scope,scope entries separated by ;', function () {
      expect(parsed({ POINT_API_KEYS: 'k1:read,charge,use;k2:read' }).apiKeys).to.deep.equal([
        { key: 'k1', scopes: ['read', 'charge', 'use'] },
        { key: 'k2', scopes: ['read'] },
      ])
    })

    const bad: [string, string, RegExp][] = [
      ['a key without scopes', 'k1', /entry 1 has no ':'/],
      ['an unknown scope', 'k1:read;k2:write', /entry 2 has unknown scope\(s\) \["write"\]/],
      ['an empty scope', 'k1:read,', /entry 1 has unknown scope/],
      ['an empty key', ':read', /entry 1 has an empty key/],
      ['a trailing separator', 'k1:read;', /entry 2 has no ':'/],
      ['a key with a space', 'k 1:read', /entry 1 has an empty key or one with spaces/],
      ['a key listed twice', 'k1:read;k1:use', /a key is listed twice/],
    ]
    for (const [what, value, message] of bad) {
      it(`stops the start on ${what}, naming the variable but not the keys`, function () {
        const error = refusal({ POINT_API_KEYS: value })
        expect(error).to.contain('POINT_API_KEYS').and.match(message)
        expect(error).to.not.contain(value)
      })
    }
  })

  describe('SHUTDOWN_TIMEOUT_MS', function () {
    it('defaults to 10 s and takes a positive whole number of milliseconds', function () {
      expect(parsed({}).shutdownTimeoutMs).to.equal(10_000)
      expect(parsed({ SHUTDOWN_TIMEOUT_MS: '2500' }).shutdownTimeoutMs).to.equal(2500)
    })

    it('refuses zero, negatives and non-numbers', function () {
      for (const value of ['0', '-5', '1.5', 'soon']) {
        expect(refusal({ SHUTDOWN_TIMEOUT_MS: value })).to.contain('SHUTDOWN_TIMEOUT_MS')
      }
    })
  })
})
