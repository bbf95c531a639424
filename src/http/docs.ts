import type Router from '@koa/router'
import { createReadStream } from 'node:fs'
import { dirname, extname, join } from 'node:path'
import type { Context } from 'koa'
import { strictRouter } from './router'

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

const asset = (ctx: Context): void => {
  const file = String((ctx.params as Record<string, unknown>)['file'])
  if (file === 'init.js') {
    ctx.type = '.js'
    ctx.body = initScript
  } else if (shipped.has(file)) {
    ctx.type = extname(file)
    ctx.set('Cache-Control', 'public, max-age=86400')
    ctx.body = createReadStream(join(distDir, file))
  }
}

/** `GET /openapi.json`, and `/docs`: Swagger UI rendering it. */
export function docsRoutes(document: object): Router {
  return strictRouter()
    .get('/openapi.json', (ctx) => {
      ctx.body = document
    })
    .get('/docs', (ctx) => {
      ctx.type = 'html'
      ctx.body = page
    })
    .get('/docs/:file', asset)
}
