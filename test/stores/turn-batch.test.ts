import { expect } from 'chai'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { TurnBatch } from '../../src/stores/turn-batch'

/** A run that stays open until told to end, recording the jobs of each run. */
const heldRuns = () => {
  const runs: number[][] = []
  const ends: Array<() => void> = []
  const run = (jobs: readonly number[]) => {
    runs.push([...jobs])
    return new Promise<number[]>((resolve) => ends.push(() => resolve(jobs.map((j) => j * 10))))
  }
  return { runs, ends, run }
}

describe('TurnBatch', function () {
  it('with one run in flight, gathers what arrives meanwhile into the next run, started when the first ends', async function () {
    const { runs, ends, run } = heldRuns()
    const batch = new TurnBatch(run, 1)
    const first = batch.submit(1)
    await nextTurn()
    expect(runs).to.deep.equal([[1]])
    const later = [batch.submit(2)]
    await nextTurn()
    later.push(batch.submit(3))
    await nextTurn()
    expect(runs, 'none started while one is in flight').to.deep.equal([[1]])
    ends[0]!()
    expect(await first).to.equal(10)
    await nextTurn()
    expect(runs).to.deep.equal([[1], [2, 3]])
    ends[1]!()
    expect(await Promise.all(later)).to.deep.equal([20, 30])
  })

  it('without a limit, starts a run every turn that has jobs', async function () {
    const { runs, ends, run } = heldRuns()
    const batch = new TurnBatch(run)
    const answers = [batch.submit(1)]
    await nextTurn()
    answers.push(batch.submit(2))
    await nextTurn()
    expect(runs).to.deep.equal([[1], [2]])
    ends.forEach((end) => end())
    expect(await Promise.all(answers)).to.deep.equal([10, 20])
  })
})
