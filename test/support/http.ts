import { expect } from 'chai'

/** Sends a request with a raw body, exactly as given, so tests control every byte. */
export const send = (
  url: string,
  method: string,
  options: { body?: string; contentType?: string } = {},
): Promise<Response> =>
  fetch(url, {
    method,
    headers: options.contentType === undefined ? {} : { 'content-type': options.contentType },
    body: options.body,
  })

export const sendJsonText = (url: string, method: string, body: string): Promise<Response> =>
  send(url, method, { body, contentType: 'application/json' })

export interface ExpectedProblem {
  readonly status: number
  readonly code: string
  /** What the detail must mention, usually the field at fault. */
  readonly detail?: RegExp
}

/** Checks a response is the problem+json document expected, and returns its raw text. */
export async function expectProblem(response: Response, expected: ExpectedProblem): Promise<string> {
  const text = await response.text()
  expect(response.status, text).to.equal(expected.status)
  expect(response.headers.get('content-type')).to.match(/^application\/problem\+json\b/)
  const body = JSON.parse(text) as Record<string, unknown>
  expect(body).to.have.all.keys('type', 'title', 'status', 'detail', 'code')
  expect(body).to.include({ status: expected.status, code: expected.code })
  expect(body['type']).to.be.a('string').and.not.equal('')
  expect(body['title']).to.be.a('string').and.not.equal('')
  expect(body['detail']).to.be.a('string')
  if (expected.detail) expect(body['detail']).to.match(expected.detail)
  return text
}

/** Reads a 200 JSON body, failing with the body text otherwise. */
export async function okJson(response: Response): Promise<unknown> {
  const text = await response.text()
  expect(response.status, text).to.equal(200)
  expect(response.headers.get('content-type')).to.match(/^application\/json\b/)
  return JSON.parse(text) as unknown
}
