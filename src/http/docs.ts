import type Router from '@koa/router'
import { createReadStream } from 'node:fs'
import { dirname, extname, join } from 'node:path'
import type { Context } from 'koa'
import { strictRouter } from './router'
import { documentHeaders, securityHeaderSetter } from './security-headers'

// swagger-ui-dist ships prebuilt files; they are served from this origin so the page needs no CDN and fits the CSP.
const distDir = dirname(require.resolve('swagger-ui-dist/package.json'))
const shipped = new Set(['swagger-ui.css', 'swagger-ui-bundle.js'])

// A separate file rather than an inline script, which the Content-Security-Policy forbids.
const initScript = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', validatorUrl: null })\n`

const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Point Ledger API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`

// The page and its files are the one HTML document and what it loads; anything else here, a 404 included, is JSON.
const setDocumentHeaders = securityHeaderSetter(documentHeaders)

const asset = (ctx: Context): void => {
  const file = String((ctx.params as Record<string, unknown>)['file'])
  if (file === 'init.js') {
    setDocumentHeaders(ctx.res)
    ctx.type = '.js'
    ctx.body = initScript
  } else if (shipped.has(file)) {
    setDocumentHeaders(ctx.res)
    ctx.type = extname(file)
    ctx.set('Cache-Control', 'public, max-age=86400')
    ctx.body = createReadStream(join(distDir, file))
  }
}

/**
 * The address this request arrived at, as the server's own socket sees it: the listening address, made concrete
 * when the service listens on every interface. Never the Host header, which is the client's text.
 */
const arrivedAt = (ctx: Context): string => {
  const { localAddress = '127.0.0.1', localPort } = ctx.req.socket
  const host = localAddress.startsWith('::ffff:') ? localAddress.slice('::ffff:'.length) : localAddress
  return `http://${host.includes(':') ? `[${host}]` : host}:${localPort ?? ''}`
}

/**
 * `GET /openapi.json`, with `publicUrl` as its server or else the address the request arrived at,
 * and `/docs`: Swagger UI rendering it, its page and files with an HTML document's security headers.
 */
export function docsRoutes(document: (serverUrl: string) => object, publicUrl: string | undefined): Router {
  // One document per address: a service listening on every interface may be reached at several.
  const documents = new Map<string, object>()
  const documentFor = (serverUrl: string): object => {
    const known = documents.get(serverUrl) ?? document(serverUrl)
    documents.set(serverUrl, known)
    return known
  }
  return strictRouter()
    .get('/openapi.json', (ctx) => {
      ctx.body = documentFor(publicUrl ?? arrivedAt(ctx))
    })
    .get('/docs', (ctx) => {
      setDocumentHeaders(ctx.res)
      ctx.type = 'html'
      ctx.body = page
    })
    .get('/docs/:file', asset)
}
