import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Scope, type ApiKey } from '../../src/api-keys'
import { parseConfig, type Config } from '../../src/config'
import { operationScopes } from '../../src/http/scopes'
import { clientTypes, clientTypesFile, servedDocument } from '../../tools/openapi-types'
import { tempDir } from '../support/sqlite'
import { startTestServer } from '../support/server'

type Json = Record<string, unknown>

interface LintReport {
  readonly problems: readonly { readonly ruleId: string; readonly severity: string; readonly message: string }[]
}

const allScopes: Scope[] = Object.keys(Scope.keys) as Scope[]
// One key per scope, and one per scope holding every other scope.
const keys: ApiKey[] = allScopes.flatMap((scope) => [
  { key: `only-${scope}`, scopes: [scope] },
  { key: `all-but-${scope}`, scopes: allScopes.filter((other) => other !== scope) },
])

/** The document a server started with `config` serves, and the server's own URL. */
const served = async (config: Partial<Config>): Promise<{ document: Json; url: string }> => {
  const server = await startTestServer({ config })
  try {
    return { document: (await (await fetch(`${server.url}/openapi.json`)).json()) as Json, url: server.url }
  } finally {
    await server.close()
  }
}

const operationsOf = (document: Json) =>
  Object.entries(document['paths'] as Record<string, Record<string, Json>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
  )

const schemaAt = (document: Json, name: string) => ((document['components'] as Json)['schemas'] as Record<string, Json>)[name] as Json

describe('the served OpenAPI document follows the running configuration', function () {
  it('states the configured amount limit as the body schema maximum', async function () {
    for (const maxAmount of [500, 70_000]) {
      const { document } = await served({ limits: { maxAmount, maxBalance: 100_000 } })
      const amount = (schemaAt(document, 'AmountBody')['properties'] as Json)['amount'] as Json
      expect(amount).to.include({ minimum: 1, maximum: maxAmount })
    }
  })

  it('names the address it listens on as its server, or PUBLIC_URL when it is set', async function () {
    const listening = await served({})
    expect((listening.document['servers'] as Json[]).map((server) => server['url'])).to.deep.equal([listening.url])
    const proxied = await served({ publicUrl: 'https://points.example.com/api' })
    expect((proxied.document['servers'] as Json[]).map((server) => server['url'])).to.deep.equal(['https://points.example.com/api'])
  })

  it('reads PUBLIC_URL as an absolute http(s) URL and refuses anything else', function () {
    const publicUrl = (value: string) => E.map((config: Config) => config.publicUrl)(parseConfig({ PUBLIC_URL: value }))
    expect(publicUrl('https://points.example.com/api/')).to.deep.equal(E.right('https://points.example.com/api'))
    expect(publicUrl('')).to.deep.equal(E.right(undefined))
    for (const bad of ['points.example.com', 'ftp://points.example.com', 'https://user:pw@points.example.com', 'https://p.example.com/?a=1', 'https://p.example.com/#x']) {
      expect(E.isLeft(publicUrl(bad)), bad).to.equal(true)
    }
  })

  it('with keys off, says the API is open and defines no security scheme', async function () {
    const { document } = await served({})
    expect(document['security']).to.deep.equal([])
    expect(document['components']).to.not.have.property('securitySchemes')
    expect(String((document['info'] as Json)['description'])).to.contain('every operation is open')
    expect(operationsOf(document).filter(({ operation }) => 'security' in operation)).to.deep.equal([])
  })

  it('with keys on, declares on each guarded operation the scope its route demands, and on no other', async function () {
    const { document } = await served({ apiKeys: keys })
    const server = await startTestServer({ config: { apiKeys: keys } })
    try {
      // The body is read, so that no answer is left open when the server stops.
      const call = async (path: string, method: string, key?: string) => {
        const response = await fetch(`${server.url}${path.replace('{id}', '1').replace('{holdId}', '1').replace('{file}', 'swagger-ui.css')}`, {
          method: method.toUpperCase(),
          headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
          body: method === 'patch' ? JSON.stringify({ amount: 1 }) : undefined,
        })
        // A stream never ends by itself: once its status is known, it is let go.
        if (response.headers.get('content-type')?.startsWith('text/event-stream') === true) await response.body?.cancel()
        else await response.arrayBuffer()
        return response
      }
      const guarded: string[] = []
      for (const { path, method, operation } of operationsOf(document)) {
        const security = operation['security'] as Record<string, Scope[]>[] | undefined
        const where = `${method} ${path}`
        if (security === undefined) {
          expect((await call(path, method)).status, `${where} is open`).to.not.be.oneOf([401, 403])
          continue
        }
        guarded.push(String(operation['operationId']))
        const scope = security[0]?.['apiKey']?.[0] as Scope
        expect(security, where).to.deep.equal([{ apiKey: [scope] }])
        expect((await call(path, method)).status, `${where} without a key`).to.equal(401)
        expect((await call(path, method, `all-but-${scope}`)).status, `${where} without ${scope}`).to.equal(403)
        expect((await call(path, method, `only-${scope}`)).status, `${where} with ${scope}`).to.not.be.oneOf([401, 403])
      }
      expect(guarded).to.have.members(Object.keys(operationScopes))
    } finally {
      await server.close()
    }
  })
})

describe('the served OpenAPI document passes its tools', function () {
  it('passes Redocly CLI lint with its recommended rules: no errors, and each warning has its reason in redocly.yaml', async function () {
    const dir = await tempDir()
    try {
      const files = [join(dir.path, 'open.json'), join(dir.path, 'keys.json')]
      await writeFile(files[0]!, JSON.stringify((await served({})).document))
      await writeFile(files[1]!, JSON.stringify((await served({ apiKeys: keys })).document))
      const cli = require.resolve('@redocly/cli/bin/cli.js')
      // A closed environment: no telemetry, no update check, nothing inherited.
      const env = { REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }
      // One run a file: with several, the CLI prints one JSON report after another.
      const lint = (file: string) =>
        promisify(execFile)(process.execPath, [cli, 'lint', file, '--config', 'redocly.yaml', '--format', 'json'], { env })
          .catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }))
          .then(({ stdout }) => JSON.parse(stdout) as LintReport)
      const problems = (await Promise.all(files.map(lint))).flatMap((report) => report.problems)
      expect(problems.filter((p) => p.severity === 'error'), 'errors').to.deep.equal([])
      const config = await readFile('redocly.yaml', 'utf8')
      for (const { ruleId } of problems) {
        expect(config, `a reason for ${ruleId} in redocly.yaml`).to.match(new RegExp(`# .+\\n\\s+${ruleId}: warn\\n`))
      }
    } finally {
      await dir.remove()
    }
  })

  it('has the committed client types that openapi-typescript makes of it (npm run openapi:types rewrites them)', async function () {
    const committed = await readFile(clientTypesFile, 'utf8')
    expect(await clientTypes(await servedDocument()), `${clientTypesFile} is stale: run npm run openapi:types`).to.equal(committed)
  })
})
