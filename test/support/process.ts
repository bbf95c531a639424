import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'

export interface ServiceProcess {
  readonly url: string
  readonly child: ChildProcess
  /** Kills the process at once, as a power cut would, and waits until it is gone. */
  readonly kill: () => Promise<void>
}

const root = resolve(__dirname, '../..')
const listening = /listening on (http:\/\/[^\s"]+)/

/**
 * Starts the service's entry point, `src/main.ts` (under tsx: what `npm start` compiles and runs), with
 * `settings` added to the environment, and resolves once its log says where it listens.
 */
export async function startServiceProcess(settings: Record<string, string>): Promise<ServiceProcess> {
  // The default store is the operator's ./data/points.db, which no test may touch.
  if ((settings['POINT_STORE'] ?? 'sqlite') === 'sqlite' && settings['SQLITE_PATH'] === undefined) {
    throw new Error('a test service process on SQLite needs an SQLITE_PATH of its own')
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    // The child needs the parent's PATH and the like, plus its own settings.
    // eslint-disable-next-line no-restricted-properties
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = once(child, 'exit')
  let errors = ''
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()))

  const url = await new Promise<string>((found, fail) => {
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      const match = listening.exec(line)
      if (match?.[1] !== undefined) found(match[1])
    })
    void exited.then(([code]) => fail(new Error(`the service exited with ${String(code)} before listening: ${errors}`)))
  })

  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  return { url, child, kill }
}
