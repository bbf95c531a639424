import type { ExpectedProblem } from '../support/http'

/** Bad requests the HTTP suite sends to every route, and the problems each must give. */

interface BodyRow {
  readonly name: string
  readonly body: string
  readonly contentType?: string
  readonly problem: ExpectedProblem
}

export const invalid = (detail: RegExp): ExpectedProblem => ({ status: 400, code: 'INVALID_REQUEST', detail })
const namesAmount = invalid(/\bamount\b/)

/** Each bad body, as raw text, and the problem it must give. */
export const badBodies: readonly BodyRow[] = [
  { name: 'amount 0', body: '{"amount":0}', problem: namesAmount },
  { name: 'amount -1', body: '{"amount":-1}', problem: namesAmount },
  { name: 'amount 0.5', body: '{"amount":0.5}', problem: namesAmount },
  { name: 'amount 1e300', body: '{"amount":1e300}', problem: namesAmount },
  { name: 'amount 2^53+1', body: '{"amount":9007199254740993}', problem: namesAmount },
  { name: 'amount "100" (a string)', body: '{"amount":"100"}', problem: namesAmount },
  { name: 'amount "abc"', body: '{"amount":"abc"}', problem: namesAmount },
  { name: 'amount null', body: '{"amount":null}', problem: namesAmount },
  { name: 'amount true', body: '{"amount":true}', problem: namesAmount },
  { name: 'amount []', body: '{"amount":[]}', problem: namesAmount },
  { name: 'amount {}', body: '{"amount":{}}', problem: namesAmount },
  { name: 'a missing amount', body: '{}', problem: namesAmount },
  // An unknown field is refused by naming the fields allowed: the client's names are not echoed.
  { name: 'an unknown field beside the amount', body: '{"amount":5,"bonus":1}', problem: invalid(/^body: fields other than amount are not allowed$/) },
  // Names that every object inherits are still unknown fields.
  { name: 'a "toString" field beside the amount', body: '{"amount":5,"toString":1}', problem: invalid(/^body: fields other than amount/) },
  { name: 'a "constructor" field beside the amount', body: '{"amount":5,"constructor":1}', problem: invalid(/^body: fields other than amount/) },
  { name: 'a "__proto__" field beside the amount', body: '{"amount":5,"__proto__":{"amount":7}}', problem: invalid(/\bbody\b/) },
  // JSON.parse would keep the last, where a gateway in front may have checked the first; spelled with an escape too.
  { name: 'the amount named twice', body: '{"amount":1,"amount":2}', problem: invalid(/^the body names a field more than once$/) },
  { name: 'the amount named twice, once escaped', body: '{"amount":1,"\\u0061mount":2}', problem: invalid(/^the body names a field more than once$/) },
  {
    name: 'the amount named twice, sent with a charset',
    body: '{"amount":1,"amount":2}',
    contentType: 'application/json; charset=utf-8',
    problem: invalid(/^the body names a field more than once$/),
  },
  { name: 'an empty body', body: '', problem: namesAmount },
  { name: 'a JSON array body', body: '[{"amount":5}]', problem: invalid(/\bbody\b/) },
  { name: 'a bare JSON number body', body: '5', problem: invalid(/\bbody\b/) },
  { name: 'a text/plain content type', body: '{"amount":5}', contentType: 'text/plain', problem: invalid(/content-type/i) },
  {
    name: 'a form content type',
    body: 'amount=5',
    contentType: 'application/x-www-form-urlencoded',
    problem: invalid(/content-type/i),
  },
  { name: 'an empty content-type header', body: '{"amount":5}', contentType: '', problem: invalid(/content-type/i) },
  { name: 'malformed JSON', body: '{"amount": 5', problem: invalid(/\bbody\b.*JSON|JSON.*\bbody\b/i) },
  {
    name: 'a body over the size limit',
    body: JSON.stringify({ amount: 5, padding: 'x'.repeat(64 * 1024) }),
    problem: { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: /\bbody\b/ },
  },
]

/** Ids the routes must refuse, and the users a lenient parser would have read them as. */
export const badIds: readonly string[] = ['abc', '0', '-1', '1.5', '1abc', '1e3', '0x10', '9007199254740993', '01', '%20']

export const lenientReadings = (raw: string): number[] =>
  [Number.parseInt(raw, 10), Number(raw), Math.trunc(Number(raw)), Number.parseFloat(raw)].filter(
    (n) => Number.isSafeInteger(n) && n > 0,
  )
