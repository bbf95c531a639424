import { expect } from 'chai'
import { utimesSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { snapshotOf } from './support/data-untouched'
import { tempDir } from './support/sqlite'

describe("the check that the tests leave the operator's ./data as found", function () {
  it('tells an absent folder from an empty one, and sees a file added, changed, touched or removed', async function () {
    const dir = await tempDir()
    try {
      const data = join(dir.path, 'data')
      expect(snapshotOf(data)).to.equal('absent')
      await mkdir(data)
      expect(snapshotOf(data)).to.deep.equal({})
      writeFileSync(join(data, 'points.db'), 'one')
      const first = snapshotOf(data)
      expect(Object.keys(first)).to.deep.equal(['points.db'])
      expect(snapshotOf(data)).to.deep.equal(first)

      writeFileSync(join(data, 'points.db'), 'two')
      utimesSync(join(data, 'points.db'), new Date(1_000), new Date(1_000))
      const rewritten = snapshotOf(data)
      expect(rewritten).to.not.deep.equal(first)
      utimesSync(join(data, 'points.db'), new Date(2_000), new Date(2_000))
      expect(snapshotOf(data), 'same bytes, new mtime').to.not.deep.equal(rewritten)
      writeFileSync(join(data, 'points.db-wal'), '')
      expect(Object.keys(snapshotOf(data))).to.have.members(['points.db', 'points.db-wal'])
    } finally {
      await dir.remove()
    }
  })
})
