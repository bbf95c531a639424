import { expect } from 'chai'
import { namesAMemberTwice } from '../../src/http/json-body'
import { expectProblem, okJson, sendJsonText } from '../support/http'
import { startTestServer, type TestServer } from '../support/server'

describe('a JSON body that names a member twice', function () {
  describe('namesAMemberTwice', function () {
    const cases: ReadonlyArray<readonly [string, boolean]> = [
      ['{"amount":1}', false],
      ['{"amount":1,"amount":2}', true],
      // The same name, however it is spelled: JSON.parse decodes it to one key and keeps the last value.
      ['{"amount":1,"\\u0061mount":2}', true],
      ['{"amount":1,"Amount":2}', false],
      ['{"a":{"x":1},"b":{"x":2}}', false],
      ['{"a":{"x":1,"x":2}}', true],
      ['[{"x":1},{"x":2}]', false],
      ['[{"x":1,"y":{"z":[{"q":1,"q":1}]}}]', true],
      ['{"a":{"x":1},"a":{"x":1}}', true],
      ['5', false],
      ['"amount amount"', false],
      // Names are per object: an inner object may reuse its parent's, and a string value is no name.
      ['{"x":{"x":1},"y":1}', false],
      ['{"a":{"x":1},"x":2}', false],
      ['{"a":[{"x":1}],"x":2}', false],
      ['{"a":"a","b":["a","a"],"c":{"a":1}}', false],
      ['{"a":"b","b":1}', false],
      // Every escape decodes as JSON.parse decodes it, surrogate pairs included.
      ['{"a/b":1,"a\\/b":2}', true],
      ['{"\\u00e9":1,"é":2}', true],
      ['{"\\ud83d\\ude00":1,"😀":2}', true],
      ['{"a,b":1}', false],
    ]
    for (const [text, twice] of cases) {
      it(`${text}: ${twice ? 'names one twice' : 'names none twice'}`, function () {
        expect(namesAMemberTwice(text)).to.equal(twice)
      })
    }
  })

  it('walks a body nested thousands deep without running out of stack', function () {
    const depth = 100_000
    expect(namesAMemberTwice(`${'['.repeat(depth)}0,0${']'.repeat(depth)}`)).to.equal(false)
    expect(namesAMemberTwice(`${'[{"a":'.repeat(depth)}0${'}]'.repeat(depth)}`.replace('{"a":0', '{"a":0,"a":1'))).to.equal(true)
  })

  describe('on every route that takes a body', function () {
    let server: TestServer
    before(async function () {
      server = await startTestServer()
    })
    after(async function () {
      await server.close()
    })

    const patch = (path: string, body: string) => sendJsonText(`${server.url}${path}`, 'PATCH', body)
    const history = async (user: number) => (await okJson(await fetch(`${server.url}/point/${user}/histories`))) as unknown[]

    it('is refused with 400 INVALID_REQUEST before anything is decided, naming no field the client sent', async function () {
      const user = 41
      await okJson(await patch(`/point/${user}/charge`, '{"amount":1000}'))
      const { hold } = (await okJson(await patch(`/point/${user}/hold`, '{"amount":10}'))) as { hold: { holdId: number } }
      await okJson(await patch(`/point/${user}/use`, '{"amount":5}'))
      const useId = ((await history(user)).at(-1) as { id: number }).id
      const before = await history(user)
      const bodies: ReadonlyArray<readonly [string, string]> = [
        [`/point/${user}/charge`, '{"amount":1,"amount":900}'],
        [`/point/${user}/use`, '{"amount":1,"\\u0061mount":900}'],
        [`/point/${user}/refund`, `{"useId":${useId},"amount":1,"amount":5}`],
        [`/point/${user}/hold`, '{"amount":1,"ttlSeconds":60,"ttlSeconds":1}'],
        [`/point/${user}/holds/${hold.holdId}/capture`, '{"amount":1,"amount":10}'],
        [`/point/${user}/holds/${hold.holdId}/release`, '{"unused":1,"unused":2}'],
      ]
      for (const [path, body] of bodies) {
        const text = await expectProblem(await patch(path, body), { status: 400, code: 'INVALID_REQUEST', detail: /^the body names a field more than once$/ })
        expect(text, path).not.to.match(/amount|useId|ttlSeconds|unused/)
      }
      expect(await history(user), 'nothing was written').to.deep.equal(before)
    })
  })
})
