import type { Context } from 'koa'

/** The route pattern that served a request, e.g. `/point/:id`, so labels stay few. */
export const routeOf = (ctx: Context): string => {
  const matched = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute
  return matched === undefined ? 'unmatched' : String(matched)
}
