import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import type { PointStore, StoreFault } from '../events/store'

export type StoreCall = 'load' | 'append' | 'balance' | 'history' | 'receipts'

/** Told how long each store call took and whether it answered or faulted. */
export type StoreObserver = (call: StoreCall, outcome: 'ok' | 'fault', seconds: number) => void

const timed =
  <A>(call: StoreCall, task: TE.TaskEither<StoreFault, A>, observe: StoreObserver): TE.TaskEither<StoreFault, A> =>
  async () => {
    const started = performance.now()
    const result = await task()
    observe(call, E.isRight(result) ? 'ok' : 'fault', (performance.now() - started) / 1000)
    return result
  }

/** The same store, with every call timed. */
export function timedStore(store: PointStore, observe: StoreObserver): PointStore {
  const locked = store.appendLocked?.bind(store)
  return {
    load: (userId) => timed('load', store.load(userId), observe),
    append: (userId, events, expectedVersion, projection, receipts) =>
      timed('append', store.append(userId, events, expectedVersion, projection, receipts), observe),
    receipts: (keys) => timed('receipts', store.receipts(keys), observe),
    balance: (userId) => timed('balance', store.balance(userId), observe),
    history: (userId, query) => timed('history', store.history(userId, query), observe),
    close: () => store.close(),
    ...(locked === undefined ? {} : { appendLocked: (userId, plan) => timed('append', locked(userId, plan), observe) }),
  }
}
