// The closing check: the same mutants against every suite, HTTP and durable stores included (about an hour or more on 2 cores).
import { readFileSync } from 'node:fs'
import { URL } from 'node:url'

const base = JSON.parse(readFileSync(new URL('./stryker.config.json', import.meta.url), 'utf8'))

export default {
  ...base,
  mochaOptions: { ...base.mochaOptions, spec: ['test/**/*.test.ts'], ignore: [] },
  htmlReporter: { fileName: 'reports/mutation-wide/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation-wide/mutation.json' },
}
