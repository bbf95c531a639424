// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/** Modules that wire the layers together; no layer imports them. */
const entryPoints = ['main', 'service', 'audit', 'open-store', 'shutdown']

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
            message: `${files.replace('/**', '')} must not depend on ${target}: layers point http -> events, projections; projections -> events; stores -> events, projections.`,
          })),
        },
      ],
    },
  }))

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/'] },
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
  ...layers({
    'src/events/**': ['projections', 'stores', 'http', ...entryPoints],
    'src/projections/**': ['stores', 'http', ...entryPoints],
    'src/stores/**': ['http', ...entryPoints],
    'src/http/**': ['stores', 'events/writer', 'events/batch', ...entryPoints],
  }),
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
)
