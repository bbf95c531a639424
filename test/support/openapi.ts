import Ajv2020 from 'ajv/dist/2020'
import { expect } from 'chai'

type Json = Record<string, unknown>

/** A JSON pointer segment: `/` and `~` escaped. */
const pointer = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1')

/**
 * Checks real responses against an OpenAPI document: the operation must list
 * the status (or a default), the media type, and the body must fit its schema.
 */
export class ResponseValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true })

  constructor(private readonly document: Json) {
    this.ajv.addSchema(document, 'openapi.json')
  }

  /** `path` is the document's template, such as `/point/{id}`. */
  async expectDocumented(method: string, path: string, response: Response): Promise<unknown> {
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0] ?? ''
    const text = await response.text()
    const body: unknown = mediaType.endsWith('json') ? JSON.parse(text) : text
    this.expectFits(method, path, response, body)
    return body
  }

  /** Checks a body already read, such as a generated client's `data` or `error`, against its response's entry. */
  expectFits(method: string, path: string, response: Response, body: unknown): void {
    const operation = ((this.document['paths'] as Json)[path] as Json | undefined)?.[method.toLowerCase()] as Json | undefined
    expect(operation, `${method} ${path} is documented`).to.not.equal(undefined)
    const responses = (operation as Json)['responses'] as Json
    // An exact status, else its range such as `5XX`, else `default`.
    const status = [String(response.status), `${String(response.status)[0]}XX`].find((key) => key in responses) ?? 'default'
    expect(responses, `${method} ${path} documents status ${response.status}`).to.have.property(status)

    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0] ?? ''
    const content = (responses[status] as Json)['content'] as Json | undefined
    expect(content, `${method} ${path} ${status} documents ${mediaType}`).to.have.property(mediaType)

    const ref = ['paths', path, method.toLowerCase(), 'responses', status, 'content', mediaType, 'schema'].map(pointer).join('/')
    const validate = this.ajv.getSchema(`openapi.json#/${ref}`)
    expect(validate, `schema at ${ref}`).to.not.equal(undefined)
    const valid = validate!(body)
    const shown = typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body)
    expect(valid, `${method} ${path} ${response.status} body fits the document: ${this.ajv.errorsText(validate!.errors)}\n${shown}`).to.equal(true)
  }
}
