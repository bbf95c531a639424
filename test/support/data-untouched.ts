import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

/** The operator's data folder: where `npm start` keeps its SQLite file by default. */
export const operatorData = resolve(__dirname, '../../data')

/** Every file under `dir` with its size, mtime and hash; 'absent' when there is no such folder. */
export const snapshotOf = (dir: string): 'absent' | Record<string, string> => {
  let top
  try {
    top = statSync(dir)
  } catch {
    return 'absent'
  }
  if (!top.isDirectory()) return { '.': `not a folder, ${top.size} bytes, mtime ${top.mtimeMs}` }
  const files: Record<string, string> = {}
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name)
      if (entry.isDirectory()) {
        files[`${relative(dir, path)}/`] = 'folder'
        walk(path)
      } else {
        const { size, mtimeMs } = statSync(path)
        const hash = createHash('sha256').update(readFileSync(path)).digest('hex')
        files[relative(dir, path)] = `${size} bytes, mtime ${mtimeMs}, sha256 ${hash}`
      }
    }
  }
  walk(dir)
  return files
}

let before: ReturnType<typeof snapshotOf> | undefined

/**
 * Root hooks (registered in .mocharc.json): the suite must leave ./data exactly as it found it, absent or not,
 * since a test that read or wrote it would be reading or writing the operator's balances.
 */
export const mochaHooks = {
  beforeAll(): void {
    before = snapshotOf(operatorData)
  },
  afterAll(): void {
    const after = snapshotOf(operatorData)
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      throw new Error(
        `the tests changed ${operatorData}, the operator's data: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`,
      )
    }
  },
}
