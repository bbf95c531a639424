import Router from '@koa/router'
import Koa from 'koa'
import bodyParser from 'koa-bodyparser'
import type { AddressInfo } from 'node:net'
import pg from 'pg'

/**
 * The row `bench/http-postgres.ts` holds the product against: the charge endpoint as a team would write it by hand,
 * on plain Koa and the same PostgreSQL, one transaction per request (lock the row, log the event, move the balance).
 * Usage: `conventional-postgres.ts <database url> <pool size>`; prints `listening <port>` once ready.
 */
const [url, poolSize = '10'] = process.argv.slice(2)

const schema = `
  CREATE TABLE IF NOT EXISTS hand_balances (user_id BIGINT PRIMARY KEY, point BIGINT NOT NULL CHECK (point >= 0), update_millis BIGINT NOT NULL);
  CREATE TABLE IF NOT EXISTS hand_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id BIGINT NOT NULL, type TEXT NOT NULL, amount BIGINT NOT NULL, time_millis BIGINT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS hand_events_by_user ON hand_events (user_id, id);
`

async function main(): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: Number(poolSize) })
  await pool.query(schema)
  const router = new Router()
  router.patch('/point/:id/charge', async (ctx) => {
    const id = Number(ctx.params['id'])
    const amount = (ctx.request.body as { amount?: unknown }).amount
    if (!Number.isSafeInteger(id) || id <= 0 || typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) {
      ctx.status = 400
      ctx.body = { code: 'BAD_REQUEST' }
      return
    }
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      const lock = () => client.query<{ point: string }>('SELECT point FROM hand_balances WHERE user_id = $1 FOR UPDATE', [id])
      let { rows } = await lock()
      if (rows.length === 0) {
        // A user seen for the first time gets a row to lock.
        await client.query('INSERT INTO hand_balances (user_id, point, update_millis) VALUES ($1, 0, 0) ON CONFLICT (user_id) DO NOTHING', [id])
        ;({ rows } = await lock())
      }
      const point = Number(rows[0]!.point) + amount
      const now = Date.now()
      await client.query('INSERT INTO hand_events (user_id, type, amount, time_millis) VALUES ($1, $2, $3, $4)', [id, 'CHARGE', amount, now])
      await client.query('UPDATE hand_balances SET point = $2, update_millis = $3 WHERE user_id = $1', [id, point, now])
      await client.query('COMMIT')
      ctx.body = { id, point, updateMillis: now }
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  })
  const app = new Koa()
  app.use(bodyParser({ enableTypes: ['json'] }))
  app.use(router.routes())
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  console.log(`listening ${(server.address() as AddressInfo).port}`)
}

void main()
