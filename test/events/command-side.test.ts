import { expect } from 'chai'
import * as E from 'fp-ts/Either'
import { createCommands } from '../../src/events/command-side'
import type { IdempotencyKey } from '../../src/events/model'
import { fastMemoryStore } from '../support/tables'
import { amount, userId } from '../support/values'

const limits = { maxAmount: 100, maxBalance: 1_000 }
const key = (k: string) => k as IdempotencyKey

describe('command side', function () {
  it('charges and uses by the configured limits', async function () {
    const commands = createCommands({ store: fastMemoryStore(), limits })
    expect(await commands.charge(userId(1), amount(100))()).to.have.nested.property('right.point', 100)
    expect(await commands.use(userId(1), amount(40))()).to.have.nested.property('right.point', 60)
    const over = await commands.charge(userId(1), amount(101))()
    expect(E.isLeft(over) && over.left).to.include({ _tag: 'Rejection', code: 'AMOUNT_LIMIT_EXCEEDED' })
  })

  it('answers a keyed charge or use retried as the first was, applying it once', async function () {
    const store = fastMemoryStore()
    const commands = createCommands({ store, limits })
    const charged = await commands.charge(userId(1), amount(50), key('c'))()
    const used = await commands.use(userId(1), amount(20), key('u'))()
    expect(await commands.charge(userId(1), amount(50), key('c'))()).to.have.nested.property('right.replayed', true)
    expect(await commands.use(userId(1), amount(20), key('u'))()).to.deep.equal(E.map((a: object) => ({ ...a, replayed: true }))(used))
    expect(E.isRight(charged)).to.equal(true)
    const history = await store.history(userId(1))()
    expect(E.map((events: Array<{ amount: number }>) => events.map((e) => e.amount))(history)).to.deep.equal(E.right([50, 20]))
  })

  it('applies unkeyed commands each time they are sent', async function () {
    const commands = createCommands({ store: fastMemoryStore(), limits })
    await commands.charge(userId(1), amount(50))()
    expect(await commands.charge(userId(1), amount(50))()).to.have.nested.property('right.point', 100)
    expect(await commands.use(userId(1), amount(10))()).to.have.nested.property('right.point', 90)
    expect(await commands.use(userId(1), amount(10))()).to.have.nested.property('right.point', 80)
  })

  it('tells how busy its writers are', async function () {
    const commands = createCommands({ store: fastMemoryStore(), limits })
    const pending = commands.charge(userId(1), amount(5))()
    expect(commands.commands.activeWriters).to.equal(1)
    await pending
    expect(commands.commands.activeWriters).to.equal(0)
  })
})
