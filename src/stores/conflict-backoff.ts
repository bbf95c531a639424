import { setTimeout as sleep } from 'node:timers/promises'

/**
 * For stores shared by several instances: how often a writer re-decides after losing a
 * version race, and how long it waits first. The wait is random (full jitter) and grows
 * with each loss, so two instances hammering one user fall out of step instead of
 * colliding again; 30 losses in a row take at most about 1.3 s in all.
 */
export const sharedStoreRetries = {
  maxConflictRetries: 30,
  conflictBackoff: (attempt: number): Promise<void> => sleep(Math.random() * Math.min(2 ** attempt, 50)),
}
