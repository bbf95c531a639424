import { expect } from 'chai'
import { patchJson, startTestServer, type TestServer } from '../support/server'

interface HistoryItem {
  id: number
  amount: number
  timeMillis: number
}

describe('history pages and point-in-time balance', function () {
  let server: TestServer
  const charges = [10, 20, 30, 40, 50]

  before(async function () {
    server = await startTestServer()
    for (const amount of charges) {
      expect((await patchJson(`${server.url}/point/1/charge`, { amount })).status).to.equal(200)
    }
  })
  after(async function () {
    await server.close()
  })

  const get = async (path: string) => {
    const response = await fetch(`${server.url}${path}`)
    return { status: response.status, link: response.headers.get('link'), body: await response.json() }
  }

  it('returns the whole history as a plain array with no Link when it fits one page', async function () {
    const { status, link, body } = await get('/point/1/histories')
    expect(status).to.equal(200)
    expect(link).to.equal(null)
    expect((body as HistoryItem[]).map((e) => e.amount)).to.deep.equal(charges)
  })

  it('pages with limit and after, following the Link header to the end', async function () {
    const seen: number[] = []
    let path: string | null = '/point/1/histories?limit=2'
    let pages = 0
    while (path !== null) {
      const page = await get(path)
      expect(page.status).to.equal(200)
      const items = page.body as HistoryItem[]
      expect(items.length).to.be.at.most(2)
      seen.push(...items.map((e) => e.amount))
      path = page.link === null ? null : (/^<([^>]+)>; rel="next"$/.exec(page.link)?.[1] ?? 'bad link')
      pages++
    }
    expect(seen).to.deep.equal(charges)
    expect(pages).to.equal(3)
  })

  for (const query of ['limit=0', 'limit=10001', 'limit=abc', 'after=-1', 'after=1.5', 'limit=%202']) {
    it(`refuses ?${query} with 400 INVALID_REQUEST`, async function () {
      const { status, body } = await get(`/point/1/histories?${query}`)
      expect(status).to.equal(400)
      expect(body).to.include({ code: 'INVALID_REQUEST' })
    })
  }

  it('gives the balance as of a moment, in epoch ms or ISO-8601', async function () {
    const history = (await get('/point/1/histories')).body as HistoryItem[]
    const third = history[2]
    if (third === undefined) throw new Error('expected five events')
    // Events stamped in the same millisecond as the third count too.
    const upToThird = history.filter((e) => e.timeMillis <= third.timeMillis)
    const atThird = await get(`/point/1?at=${third.timeMillis}`)
    expect(atThird.status).to.equal(200)
    expect(atThird.body).to.deep.equal({
      id: 1,
      point: upToThird.reduce((sum, e) => sum + e.amount, 0),
      held: 0,
      available: upToThird.reduce((sum, e) => sum + e.amount, 0),
      updateMillis: third.timeMillis,
    })

    const iso = new Date(third.timeMillis).toISOString()
    expect((await get(`/point/1?at=${encodeURIComponent(iso)}`)).body).to.deep.equal(atThird.body)
    expect((await get('/point/1?at=0')).body).to.deep.equal({ id: 1, point: 0, held: 0, available: 0, updateMillis: 0 })
    expect((await get(`/point/1?at=${Date.now()}`)).body).to.include({ point: 150 })
  })

  for (const at of ['yesterday', '-5', '1e3', '2026-13-45T00:00:00Z', '2026-11-24T10:00:00']) {
    it(`refuses ?at=${at} with 400 INVALID_REQUEST`, async function () {
      const { status, body } = await get(`/point/1?at=${encodeURIComponent(at)}`)
      expect(status).to.equal(400)
      expect(body).to.include({ code: 'INVALID_REQUEST' })
    })
  }
})
