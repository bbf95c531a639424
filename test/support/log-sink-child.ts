import { LogSink } from '../../src/http/log-sink'

/**
 * A process logging through a LogSink on its stdout, wired as src/main.ts wires it, for test/http/log-sink.test.ts.
 * argv: buffer bytes, then what to do once told to go (an IPC message): `exit` writes 200 lines and leaves the event
 * loop to end; `crash` writes 3 lines and throws.
 */
const [bufferBytes = '4096', ending = 'exit'] = process.argv.slice(2)
const sink = new LogSink(1, Number(bufferBytes))
process.once('exit', () => sink.close())
const line = (n: number) => `${JSON.stringify({ n, msg: 'x'.repeat(100) })}\n`

sink.write('{"msg":"ready"}\n')
sink.flush()
process.once('message', () => {
  const count = ending === 'crash' ? 3 : 200
  for (let n = 1; n <= count; n++) sink.write(line(n))
  process.send?.('written')
  if (ending === 'crash') throw new Error('a bug, after three lines were logged')
  // Nothing else keeps the process alive: it ends once the channel is closed.
  process.disconnect()
})
