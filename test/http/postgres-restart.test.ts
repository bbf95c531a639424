import { expect } from 'chai'
import { openPostgresStore } from '../../src/stores/postgres'
import { replay } from '../../src/projections/balance'
import type { StoredEvent } from '../../src/events/model'
import { embedded, freshDatabase, postgresServer } from '../support/postgres'
import { patchJson, startTestServer } from '../support/server'

interface Sent {
  readonly user: number
  readonly kind: 'charge' | 'use'
  readonly amount: number
  readonly key: string
}

interface Answer {
  readonly status: number
  readonly type: string | null
  readonly body: { point?: number; code?: string }
}

const users = [1, 2, 3]

describe('HTTP on PostgreSQL while the server goes down and comes back', function () {
  // Only a server this run started can be stopped; a given DATABASE_URL is left alone.
  if (embedded) it('answers 503 STORE_UNAVAILABLE while it is down, serves again by itself, and a keyed retry applies each command once', async function () {
    this.timeout(60_000)
    const server = await postgresServer()
    const database = await freshDatabase()
    const store = await openPostgresStore(database.url, { connectTimeoutMillis: 500 })
    const service = await startTestServer({ store })
    const ask = async ({ user, kind, amount, key }: Sent): Promise<Answer> => {
      const response = await patchJson(`${service.url}/point/${user}/${kind}`, { amount }, { 'Idempotency-Key': key })
      return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Answer['body'] }
    }
    const balanceOf = (user: number) => fetch(`${service.url}/point/${user}`)
    try {
      const opening = users.map((user): Sent => ({ user, kind: 'charge', amount: 100, key: `open-${user}` }))
      expect((await Promise.all(opening.map(ask))).map((a) => a.status)).to.deep.equal([200, 200, 200])

      await server.restart!.down()
      const duringOutage = users.flatMap((user): Sent[] => [
        { user, kind: 'charge', amount: 10, key: `down-charge-${user}` },
        { user, kind: 'use', amount: 30, key: `down-use-${user}` },
      ])
      const refused = await Promise.all(duringOutage.map(ask))
      for (const answer of refused) {
        expect(answer.status).to.equal(503)
        expect(answer.type).to.match(/^application\/problem\+json/)
        expect(answer.body.code).to.equal('STORE_UNAVAILABLE')
      }
      const read = await balanceOf(1)
      expect(read.status).to.equal(503)
      expect(((await read.json()) as Answer['body']).code).to.equal('STORE_UNAVAILABLE')

      await server.restart!.up()
      // The service is not restarted: each command is sent again with its key until it is answered for good.
      const retried: Answer[] = []
      for (const sent of duringOutage) {
        let answer = await ask(sent)
        for (let attempt = 0; answer.status === 503 && attempt < 50; attempt++) answer = await ask(sent)
        retried.push(answer)
      }
      expect(retried.map((a) => a.status)).to.deep.equal(duringOutage.map(() => 200))

      // Sent once more, every command is a replay of its answer: none was applied twice.
      const again = await Promise.all(duringOutage.map(ask))
      expect(again.map((a) => a.body.point)).to.deep.equal(retried.map((a) => a.body.point))

      for (const user of users) {
        const history = (await (await fetch(`${service.url}/point/${user}/histories`)).json()) as StoredEvent[]
        expect(history.map((e) => `${e.type} ${e.amount}`), `user ${user}'s log`).to.deep.equal(['CHARGE 100', 'CHARGE 10', 'USE 30'])
        const projected = (await (await balanceOf(user)).json()) as { point: number }
        expect(projected.point).to.equal(replay(history).balance).and.to.equal(80)
      }
    } finally {
      await service.close()
      await store.close()
      await database.drop()
    }
  })
})
