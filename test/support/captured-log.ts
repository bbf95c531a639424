import { Writable } from 'node:stream'
import type { AddressInfo } from 'node:net'
import type { PointStore } from '../../src/events/store'
import { createLogger } from '../../src/http/logging'
import { startService } from '../../src/service'
import { testConfig, type TestServer } from './server'
import type { Config } from '../../src/config'

/** A pino destination that keeps every line in memory. */
export class CapturedLog extends Writable {
  private readonly text: string[] = []

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text.push(chunk.toString())
    done()
  }

  get raw(): string {
    return this.text.join('')
  }

  get lines(): Record<string, unknown>[] {
    return this.raw.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
  }

  /** The request lines logged at error level for this route. */
  failed(route: string): Record<string, unknown>[] {
    return this.lines.filter((line) => line['msg'] === 'request failed' && line['route'] === route)
  }
}

/** A real service on the store given, logging at info into `log`. */
export async function startLoggedServer(store: PointStore, log: CapturedLog, config: Partial<Config> = {}): Promise<TestServer> {
  const service = await startService(testConfig(config), createLogger('info', log), store)
  const { port } = service.server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, service, close: () => service.stop() }
}
