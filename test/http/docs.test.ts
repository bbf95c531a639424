import { expect } from 'chai'
import { listen, opsApp, type Listening } from '../support/ops'
import { patchJson } from '../support/server'

/** The CSP's directives, by name. */
const directives = (header: string | null): Map<string, string[]> =>
  new Map(
    (header ?? '')
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0] !== '')
      .map(([name, ...values]) => [name ?? '', values]),
  )

describe('docs page and security headers', function () {
  let served: Listening
  before(async function () {
    served = await listen(opsApp().app)
  })
  after(async function () {
    await served.close()
  })

  it('serves /docs as HTML whose scripts and styles all come from this origin', async function () {
    const page = await fetch(`${served.url}/docs`)
    expect(page.status).to.equal(200)
    expect(page.headers.get('content-type')).to.match(/^text\/html/)
    const html = await page.text()
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '')
    expect(assets).to.have.members(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/init.js'])
    expect(html, 'no inline script, which the CSP would block').to.not.match(/<script>(?!<\/script>)/)

    for (const asset of assets) {
      const response = await fetch(`${served.url}${asset}`)
      expect(response.status, asset).to.equal(200)
      expect(response.headers.get('content-type'), asset).to.match(asset.endsWith('.css') ? /^text\/css/ : /^text\/javascript/)
      expect((await response.text()).length, asset).to.be.greaterThan(0)
    }
    expect(await (await fetch(`${served.url}/docs/init.js`)).text()).to.contain("url: '/openapi.json'")
  })

  it('serves only the files the page needs from swagger-ui-dist', async function () {
    for (const file of ['package.json', 'index.html', '..%2F..%2Fpackage.json', 'swagger-initializer.js']) {
      expect((await fetch(`${served.url}/docs/${file}`)).status, file).to.equal(404)
    }
  })

  it('sends a CSP that lets the docs page load from this origin only, over plain HTTP too', async function () {
    const csp = directives((await fetch(`${served.url}/docs`)).headers.get('content-security-policy'))
    expect(csp.get('default-src')).to.deep.equal(["'self'"])
    expect(csp.get('script-src')).to.deep.equal(["'self'"])
    expect(csp.get('object-src')).to.deep.equal(["'none'"])
    expect(csp.has('upgrade-insecure-requests')).to.equal(false)
  })

  it('sends security headers on answers, problems and the docs alike: the docs page may be framed by its own origin, JSON by none', async function () {
    for (const path of ['/point/1', '/point/abc', '/nowhere', '/docs']) {
      const answer = await fetch(`${served.url}${path}`)
      expect(answer.headers.get('x-content-type-options'), path).to.equal('nosniff')
      expect(answer.headers.get('x-frame-options'), path).to.equal(path === '/docs' ? 'SAMEORIGIN' : 'DENY')
      expect(directives(answer.headers.get('content-security-policy')).get('frame-ancestors'), path).to.deep.equal([path === '/docs' ? "'self'" : "'none'"])
      expect(answer.headers.get('referrer-policy'), path).to.equal('no-referrer')
      expect(answer.headers.has('x-powered-by'), path).to.equal(false)
    }
  })

  it('still refuses a body over the size limit with 413 problem+json', async function () {
    const response = await patchJson(`${served.url}/point/1/charge`, { amount: 1, note: 'x'.repeat(8_000) })
    expect(response.status).to.equal(413)
    expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/)
    expect(await response.json()).to.include({ code: 'PAYLOAD_TOO_LARGE' })
  })
})
