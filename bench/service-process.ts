import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../tools/embedded-postgres'
import { compiledScript } from './compiled'

const root = resolve(__dirname, '..')

/** A service started as `npm start` starts it, in its own process: where it listens, and the process. */
export interface ServiceInstance {
  readonly url: string
  readonly child: ChildProcess
}

/** Starts `src/main.ts` with these settings on a free port, logging warnings only; resolves once `/readyz` answers. */
export async function startServiceInstance(env: Record<string, string>): Promise<ServiceInstance> {
  const port = await freePort()
  const child = spawn(process.execPath, compiledScript('src/main.ts'), {
    cwd: root,
    // eslint-disable-next-line no-restricted-properties
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  for (;;) {
    if (child.exitCode !== null) throw new Error(`a service instance exited with ${child.exitCode}`)
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return { url, child }
    await sleep(100)
  }
}
