import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(__dirname, '..')
const outDir = join(root, 'dist-bench')
let built = false

/**
 * The node arguments that run one of the project's scripts as `npm start` runs the service: compiled by tsc, on
 * plain node with source maps. Under tsx every read of an imported name is a getter call, which made the service's
 * `GET` about 7% dearer (docs/performance.md); a bench measures what production runs. The first call builds
 * `tsconfig.bench.json` into `dist-bench/`, a folder of its own so a bench of an uncommitted change never leaves
 * its build where `npm start` runs, and from scratch, so no file renamed since the last build is run in its stead.
 */
export function compiledScript(script: string): string[] {
  if (!built) {
    rmSync(outDir, { recursive: true, force: true })
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.bench.json'], { cwd: root, stdio: 'inherit' })
    built = true
  }
  return ['--enable-source-maps', join(outDir, script.replace(/\.ts$/, '.js'))]
}
