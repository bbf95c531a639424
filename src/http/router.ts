import Router from '@koa/router'

/**
 * A router that matches one spelling of each route: case-sensitive, and without a trailing slash.
 * @koa/router's default would also match `/POINT/1/` and so on, which a path check elsewhere could miss.
 */
export const strictRouter = (): Router => new Router({ sensitive: true, strict: true })
