import { once } from 'node:events'
import { connect, type Socket } from 'node:net'

/** An HTTP/1.1 response as it came over the wire. */
export interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** Parses the bytes a server sent on one connection that carried one response. */
export const parseRaw = (text: string): RawResponse => {
  const split = text.indexOf('\r\n\r\n')
  const [statusLine = '', ...lines] = text.slice(0, split < 0 ? text.length : split).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: split < 0 ? '' : text.slice(split + 4) }
}

/** Opens a connection to the server at `url` (http://host:port). */
export const openSocket = async (url: string): Promise<Socket> => {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  await once(socket, 'connect')
  return socket
}

/** Everything the server sends until it closes the connection. */
export const readToEnd = (socket: Socket): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (text += chunk))
    socket.once('error', reject)
    socket.once('close', () => resolve(text))
  })

/** Sends `request` exactly as written and resolves with what came back before the server closed. */
export async function sendRaw(url: string, request: string): Promise<RawResponse> {
  const socket = await openSocket(url)
  const answer = readToEnd(socket)
  socket.write(request)
  return parseRaw(await answer)
}
