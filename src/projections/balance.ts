import { evolve, initialState, type PointState } from '../events/decider'
import type { PointEvent } from '../events/model'

/** The state a log implies: the fold of its events from the start. */
export const replay = (events: readonly PointEvent[]): PointState => events.reduce(evolve, initialState)

/** The projection after appending `events` to `state`. */
export const project = (state: PointState, events: readonly PointEvent[]): PointState => events.reduce(evolve, state)
