import { expect } from 'chai'
import fc from 'fast-check'
import * as E from 'fp-ts/Either'
import { InstantParam } from '../../src/http/requests'
import { listen, opsApp, type Listening } from '../support/ops'

const decoded = (input: string): number | 'refused' => {
  const result = InstantParam.decode(input)
  return E.isRight(result) ? result.right : 'refused'
}

// The last millisecond of 9999, the latest instant four year digits can write.
const lastFourDigitYear = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
// The latest instant a JavaScript Date holds.
const latestDate = 8_640_000_000_000_000

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/** `millis` written as the wall-clock time at `offsetMinutes` east of UTC, with that offset. */
const atOffset = (millis: number, offsetMinutes: number): string => {
  const wall = new Date(millis + offsetMinutes * 60_000).toISOString().slice(0, -1)
  const sign = offsetMinutes < 0 ? '-' : '+'
  const size = Math.abs(offsetMinutes)
  return `${wall}${sign}${pad(Math.floor(size / 60))}:${pad(size % 60)}`
}

describe('?at= decoding (InstantParam)', function () {
  it('takes epoch milliseconds from 0 to the latest Date, written as plain decimals', function () {
    expect(decoded('0')).to.equal(0)
    expect(decoded('1767225600000')).to.equal(1767225600000)
    expect(decoded(String(latestDate))).to.equal(latestDate)
    for (const refused of [String(latestDate + 1), String(Number.MAX_SAFE_INTEGER), '01', '+1', '1e3', '0x10', ' 1', '']) {
      expect(decoded(refused), refused).to.equal('refused')
    }
  })

  it('takes an ISO-8601 date-time with its offset, to the millisecond, digits past it dropped', function () {
    expect(decoded('1970-01-01T00:00:00Z')).to.equal(0)
    expect(decoded('2024-02-29T12:00:00Z')).to.equal(Date.UTC(2024, 1, 29, 12))
    expect(decoded('2000-02-29T00:00:00+09:00')).to.equal(Date.UTC(2000, 1, 28, 15))
    expect(decoded('2026-11-24T12:00Z')).to.equal(Date.UTC(2026, 10, 24, 12))
    expect(decoded('2026-01-01T00:00:00.1Z')).to.equal(Date.UTC(2026, 0, 1) + 100)
    expect(decoded('2026-01-01T00:00:00.123456789Z')).to.equal(Date.UTC(2026, 0, 1) + 123)
    expect(decoded('1969-12-31T23:30:00-01:00'), 'a 1969 wall clock west of UTC can be after the epoch').to.equal(1_800_000)
  })

  it('refuses impossible calendar dates and times', function () {
    for (const impossible of [
      '2026-02-29T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-00T00:00:00Z',
      '2026-01-32T00:00:00Z',
      '2026-01-01T25:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:60:00Z',
      '2026-01-01T00:00:60Z',
      '2026-01-01T00:00:00+24:00',
      '2026-01-01T00:00:00+05:60',
    ]) {
      expect(decoded(impossible), impossible).to.equal('refused')
    }
  })

  it('refuses a date-time without an offset, and a bare date, which names a day rather than an instant', function () {
    for (const local of ['2026-11-24T10:00:00', '2026-11-24T10:00', '2026-11-24T10:00:00.5', '2026-11-24', '2026-11-24T']) {
      expect(decoded(local), local).to.equal('refused')
    }
  })

  it('refuses negative instants however they are spelled, and expanded years', function () {
    for (const negative of [
      '-1',
      '-0',
      '-1767225600000',
      '1969-12-31T23:59:59.999Z',
      '1970-01-01T00:30:00+01:00',
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '-000001-01-01T00:00:00Z',
      '+000000-01-01T00:00:00Z',
      '+275760-09-13T00:00:00Z',
      '+002026-01-01T00:00:00Z',
    ]) {
      expect(decoded(negative), negative).to.equal('refused')
    }
  })

  it('property: every instant from 0 to 9999-12-31, written in any offset, decodes to itself', function () {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: lastFourDigitYear }), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), (millis, offset) => {
        const wall = new Date(millis + offset * 60_000)
        fc.pre(wall.getUTCFullYear() >= 0 && wall.getUTCFullYear() <= 9999)
        expect(decoded(atOffset(millis, offset))).to.equal(millis)
        expect(decoded(new Date(millis).toISOString())).to.equal(millis)
        expect(decoded(String(millis))).to.equal(millis)
      }),
    )
  })

  it('property: every instant before 1970 is refused, as epoch milliseconds and as ISO-8601', function () {
    fc.assert(
      fc.property(fc.integer({ min: -latestDate, max: -1 }), (millis) => {
        expect(decoded(String(millis))).to.equal('refused')
        expect(decoded(new Date(millis).toISOString())).to.equal('refused')
        expect(decoded(atOffset(millis, 0).replace('+00:00', 'Z'))).to.equal('refused')
      }),
    )
  })

  it('property: a day past the end of its month is refused, whatever the year', function () {
    fc.assert(
      fc.property(fc.integer({ min: 1970, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 3 }), (year, month, past) => {
        const days = new Date(Date.UTC(year, month, 0)).getUTCDate()
        const day = days + past
        fc.pre(day <= 99)
        expect(decoded(`${pad(year, 4)}-${pad(month)}-${pad(day)}T00:00:00Z`)).to.equal('refused')
        expect(decoded(`${pad(year, 4)}-${pad(month)}-${pad(days)}T00:00:00Z`)).to.equal(Date.UTC(year, month - 1, days))
      }),
    )
  })
})

describe('GET /point/{id}?at= refusals over HTTP', function () {
  let served: Listening
  before(async function () {
    served = await listen(opsApp().app)
  })
  after(async function () {
    await served.close()
  })

  for (const at of ['2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T25:00:00Z', '2026-01-01T00:00:00', '2026-01-01', '1969-12-31T23:59:59Z', '-1']) {
    it(`answers ?at=${at} 400 INVALID_REQUEST, naming at without echoing it`, async function () {
      const response = await fetch(`${served.url}/point/1?at=${encodeURIComponent(at)}`)
      expect(response.status).to.equal(400)
      expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/)
      const body = (await response.json()) as { code: string; detail: string }
      expect(body.code).to.equal('INVALID_REQUEST')
      expect(body.detail).to.match(/^at: /)
      expect(body.detail).to.not.include(at)
    })
  }

  it('answers ?at= given twice 400', async function () {
    const response = await fetch(`${served.url}/point/1?at=0&at=1`)
    expect(response.status).to.equal(400)
    expect(await response.json()).to.include({ code: 'INVALID_REQUEST' })
  })
})
