// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/** Modules that wire the layers together; no layer imports them. */
const entryPoints = ['main', 'service', 'audit', 'open-store', 'shutdown']
const devOnly = ['test', 'bench', 'tools']

/** Where a folder's modules are reached from anywhere below src/: `../x`, `../../x`, `../x/y`. */
const reaching = (target) => `^(\\.\\./)+${target.replace('/', '\\/')}(\\/.*)?$`

/** One `no-restricted-imports` zone per layer: what its files must not import. */
const layers = (zones) =>
  Object.entries(zones).map(([files, forbidden]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((target) => ({
            regex: reaching(target),
            message: `${files} must not import ${target}: layers point http -> events, projections; projections -> events; stores -> events, projections.`,
          })),
        },
      ],
    },
  }))

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'dist-bench/', 'data/', 'coverage/', 'reports/', '.stryker-tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An un-awaited fc.assert or chai-as-promised check passes silently.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read settings through src/config.ts.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only']", message: 'No focused tests.' },
        { selector: "CallExpression[callee.property.name='skip']", message: 'No skipped tests.' },
      ],
    },
  },
  {
    files: ['src/config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  // Layers point one way: http -> events, projections; projections -> events; stores -> events, projections;
  // the entry points (src/main.ts, src/service.ts, src/audit.ts, src/open-store.ts, bench, test) -> everything.
  // The service never runs test or benchmark code, and a benchmark does not borrow the tests' helpers.
  ...layers({
    'src/events/**': ['projections', 'stores', 'http', ...entryPoints, ...devOnly],
    'src/projections/**': ['stores', 'http', ...entryPoints, ...devOnly],
    'src/stores/**': ['http', ...entryPoints, ...devOnly],
    'src/http/**': ['stores', 'events/writer', 'events/batch', ...entryPoints, ...devOnly],
    'src/*.ts': devOnly,
    'bench/**': ['test'],
  }),
  {
    // The audit CLI and the store opener it shares with the service stay free of the HTTP stack.
    files: ['src/audit.ts', 'src/open-store.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['koa', '@koa/router', 'koa-bodyparser', 'koa-helmet'].map((name) => ({ name, message: 'The audit CLI does not load the HTTP stack.' })),
          patterns: [
            { regex: '^\\./(http|service|main|shutdown)(\\/.*)?$', message: 'The audit CLI does not load the HTTP stack.' },
            ...devOnly.map((target) => ({ regex: reaching(target), message: 'The service never runs test or benchmark code.' })),
          ],
        },
      ],
    },
  },
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
)
