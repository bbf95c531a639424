import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import type * as t from 'io-ts'
import {
  Amount,
  fingerprint,
  IdempotencyKey,
  idempotencyKeyRule,
  positiveSafeInteger,
  rejection,
  RejectionCode,
  StoredEvent,
  UserId,
  UserPoint,
} from '../../src/events/model'
import { amount, userId } from '../support/values'

/** The name a refusal reports as what was expected: the codec's own, which the HTTP edge puts in its 400. */
const expectedName = (codec: t.Decoder<unknown, unknown>, input: unknown): string | undefined => {
  const decoded = codec.decode(input)
  if (E.isRight(decoded)) return undefined
  const context = decoded.left[0]?.context
  return context?.[context.length - 1]?.type.name
}

const row = { id: 3, type: 'CHARGE', userId: 7, amount: 50, timeMillis: 1_700_000_000_000 }

describe('model codecs', function () {
  for (const [name, codec] of [
    ['UserId', UserId],
    ['Amount', Amount],
  ] as const) {
    describe(name, function () {
      it('accepts 1 and the largest safe integer', function () {
        expect(codec.is(1)).to.equal(true)
        expect(codec.is(Number.MAX_SAFE_INTEGER)).to.equal(true)
      })

      it('refuses 0 itself, before any rule or store sees it', function () {
        expect(codec.is(0)).to.equal(false)
      })

      it('refuses negatives, fractions and integers past the safe range', function () {
        for (const n of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Number.POSITIVE_INFINITY]) expect(codec.is(n), String(n)).to.equal(false)
      })

      it('refuses a number written as a string', function () {
        expect(codec.is('7')).to.equal(false)
      })

      it(`names itself ${name} in a refusal`, function () {
        expect(expectedName(codec, 0)).to.equal(name)
      })
    })
  }

  it('states the range of ids and amounts as 1 to the largest safe integer', function () {
    expect(positiveSafeInteger).to.deep.equal({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
  })

  describe('IdempotencyKey', function () {
    it('accepts 1 to 255 printable ASCII characters, space and tilde included', function () {
      for (const key of ['a', ' ', '~', 'order-42/retry 1', 'x'.repeat(255)]) expect(IdempotencyKey.is(key), JSON.stringify(key)).to.equal(true)
    })

    it('refuses an empty key, a 256-character key, control characters and non-ASCII', function () {
      for (const key of ['', 'x'.repeat(256), 'a\nb', 'tab\t', '\x7F', 'café']) expect(IdempotencyKey.is(key), JSON.stringify(key)).to.equal(false)
    })

    it('refuses a key that is not a string', function () {
      expect(IdempotencyKey.is(42)).to.equal(false)
    })

    it('states its rule as the printable ASCII class and a length of 1 to 255', function () {
      expect(idempotencyKeyRule).to.deep.equal({ characters: '\\x20-\\x7E', minLength: 1, maxLength: 255 })
    })

    it('names itself IdempotencyKey in a refusal', function () {
      expect(expectedName(IdempotencyKey, '')).to.equal('IdempotencyKey')
    })
  })

  describe('a stored event, as a durable store decodes its rows', function () {
    it('accepts a CHARGE or USE row with an id, a user, an amount and a time', function () {
      expect(StoredEvent.is(row)).to.equal(true)
      expect(StoredEvent.is({ ...row, type: 'USE' })).to.equal(true)
    })

    it('refuses a row of another type, or with a bad user, amount, time or id', function () {
      const bad = [
        { ...row, type: 'GIFT' },
        { ...row, userId: 0 },
        { ...row, amount: 0 },
        { ...row, timeMillis: 'yesterday' },
        { ...row, id: '3' },
      ]
      for (const candidate of bad) expect(StoredEvent.is(candidate), JSON.stringify(candidate)).to.equal(false)
    })

    it('refuses a row missing any field', function () {
      for (const field of Object.keys(row)) {
        const missing: Record<string, unknown> = { ...row }
        delete missing[field]
        expect(StoredEvent.is(missing), field).to.equal(false)
      }
    })
  })

  describe('a balance row', function () {
    it('accepts a user, a point and a time, and refuses a bad user or a missing point', function () {
      expect(UserPoint.is({ id: 7, point: 0, updateMillis: 1 })).to.equal(true)
      expect(UserPoint.is({ id: 0, point: 0, updateMillis: 1 })).to.equal(false)
      expect(UserPoint.is({ id: 7, updateMillis: 1 })).to.equal(false)
      expect(UserPoint.is({ id: 7, point: 0 })).to.equal(false)
    })
  })

  it('knows exactly the rejection codes a receipt may record', function () {
    expect(Object.keys(RejectionCode.keys)).to.deep.equal([
      'AMOUNT_LIMIT_EXCEEDED',
      'INSUFFICIENT_BALANCE',
      'BALANCE_LIMIT_EXCEEDED',
      'IDEMPOTENCY_KEY_REUSED',
      'USE_NOT_FOUND',
      'REFUND_EXCEEDS_USE',
      'HOLD_TTL_EXCEEDED',
      'TOO_MANY_HOLDS',
      'HOLD_NOT_FOUND',
      'HOLD_ALREADY_RESOLVED',
      'CAPTURE_EXCEEDS_HOLD',
    ])
    expect(RejectionCode.is('OTHER')).to.equal(false)
  })

  it('builds a rejection from its code and detail', function () {
    expect(rejection('INSUFFICIENT_BALANCE', 'balance 0 is less than 1')).to.deep.equal({
      _tag: 'Rejection',
      code: 'INSUFFICIENT_BALANCE',
      detail: 'balance 0 is less than 1',
    })
  })

  it('fingerprints a command by its type, user and amount, never its key', function () {
    const base = { type: 'Charge', userId: userId(7), amount: amount(50) } as const
    expect(fingerprint(base)).to.equal('Charge:7:50')
    expect(fingerprint({ ...base, key: 'k' as IdempotencyKey })).to.equal('Charge:7:50')
    expect(fingerprint({ ...base, type: 'Use' })).to.not.equal(fingerprint(base))
  })
})
