import { createScanner, SyntaxKind } from 'jsonc-parser'
import type { Context, Middleware, Next } from 'koa'
import bodyParser from 'koa-bodyparser'
import { problem, ProblemError } from './problem'

/** koa-bodyparser's errors carry the raw body; it is never echoed nor logged. */
const bodyError = (error: Error & { status?: number }): never => {
  throw new ProblemError(
    error.status === 413
      ? problem('PAYLOAD_TOO_LARGE', 'the body is over the size limit')
      : problem('INVALID_REQUEST', 'the body is not valid JSON'),
  )
}

/**
 * Whether an object in `text`, JSON that has already parsed, names a member twice. JSON.parse keeps the last of
 * them, where a proxy or gateway in front may have checked the first: `{"amount":1,"amount":900}` would be one
 * amount to it and another to the ledger. Names are compared as decoded, so `"\u0061mount"` is `"amount"`.
 * A loop over jsonc-parser's tokens with a stack of its own, not its recursive `visit`: a body of a few thousand
 * nested arrays must not run the stack out, which JSON.parse (iterative) never does.
 */
export const namesAMemberTwice = (text: string): boolean => {
  // Two members of one object need a comma between them: most bodies, `{"amount":1}`, have none to walk.
  if (!text.includes(',')) return false
  // One entry per open object (its names so far) or array (undefined); `expectingName`: the next string is a name.
  const open: Array<Set<string> | undefined> = []
  let expectingName = false
  const scanner = createScanner(text, true)
  for (let token = scanner.scan(); token !== SyntaxKind.EOF; token = scanner.scan()) {
    switch (token) {
      case SyntaxKind.OpenBraceToken:
        open.push(new Set())
        expectingName = true
        break
      case SyntaxKind.OpenBracketToken:
        open.push(undefined)
        break
      case SyntaxKind.CloseBraceToken:
      case SyntaxKind.CloseBracketToken:
        open.pop()
        break
      case SyntaxKind.CommaToken:
        expectingName = open.at(-1) !== undefined
        break
      case SyntaxKind.StringLiteral: {
        const names = open.at(-1)
        if (expectingName && names !== undefined) {
          const name = scanner.getTokenValue()
          if (names.has(name)) return true
          names.add(name)
        }
        expectingName = false
        break
      }
      default:
        expectingName = false
    }
  }
  return false
}

/**
 * Parses a JSON body of at most `limit` (over it: 413), refusing one that is not JSON, or that names a member twice,
 * with 400 before the route's handler runs. A body of another content type is left unread, for the route to refuse.
 */
export function jsonBody(limit: string): Middleware {
  const parse: (ctx: Context, next: Next) => Promise<void> = bodyParser({ enableTypes: ['json'], jsonLimit: limit, strict: true, onerror: bodyError })
  const refuseNamedTwice = (ctx: Context, next: Next): Promise<void> => {
    // Set by the parser for every body it read; undefined for a body of another type, left unread for the route to
    // refuse. Nothing before this parser sets a body, which would make it skip parsing and leave this undefined too.
    const raw = ctx.request.rawBody as string | undefined
    // The client's names are not echoed.
    if (raw !== undefined && namesAMemberTwice(raw)) throw new ProblemError(problem('INVALID_REQUEST', 'the body names a field more than once'))
    return next()
  }
  return (ctx, next) => parse(ctx, () => refuseNamedTwice(ctx, next))
}
