import { expect } from 'chai'
import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import { OpenStreams } from '../../src/http/open-streams'

describe('OpenStreams', function () {
  it('counts a held stream until its response closes, however many streams are held', function () {
    const open = new OpenStreams()
    const first = new EventEmitter()
    const second = new EventEmitter()
    open.hold(first as ServerResponse)
    open.hold(second as ServerResponse)
    expect(open.count).to.equal(2)
    first.emit('finish')
    expect(open.count, 'a finished response still holds its slot until it closes').to.equal(2)
    first.emit('close')
    expect(open.count).to.equal(1)
    first.emit('close')
    expect(open.count, 'a second close frees nothing more').to.equal(1)
    second.emit('close')
    expect(open.count).to.equal(0)
  })
})
