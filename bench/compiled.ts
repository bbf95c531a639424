import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'

const root = resolve(__dirname, '..')
let built = false

/**
 * The node arguments that run one of the project's scripts as `npm start` runs the service: compiled by tsc into
 * `dist/`, on plain node with source maps. Under tsx every read of an imported name is a getter call, which made
 * the service's `GET` about 7% dearer (docs/performance.md); a bench measures what production runs. The first call
 * builds (`tsconfig.bench.json`, incremental: a second bench run rebuilds only what changed).
 */
export function compiledScript(script: string): string[] {
  if (!built) {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.bench.json'], { cwd: root, stdio: 'inherit' })
    built = true
  }
  return ['--enable-source-maps', join(root, 'dist', script.replace(/\.ts$/, '.js'))]
}
