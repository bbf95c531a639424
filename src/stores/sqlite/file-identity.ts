import type { Database } from 'better-sqlite3'
import { statSync } from 'node:fs'
import { resolve } from 'node:path'

/** Why a store refuses to write: its file at the path is gone or another one. The code is what the log shows. */
export class StoreFileMoved extends Error {
  constructor(
    readonly code: 'STORE_FILE_DELETED' | 'STORE_FILE_REPLACED',
    message: string,
  ) {
    super(message)
  }
}

interface Inode {
  readonly dev: bigint
  readonly ino: bigint
}

/** The file's device and inode; undefined if there is none at the path. */
const inodeAt = (path: string): Inode | undefined => {
  try {
    const { dev, ino } = statSync(path, { bigint: true })
    return { dev, ino }
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined
    throw error
  }
}

const same = (a: Inode, b: Inode | undefined): boolean => b !== undefined && a.dev === b.dev && a.ino === b.ino

/**
 * The data file, its WAL and the WAL's index as they were when the store opened them. A file deleted or renamed over while open
 * stays open: SQLite goes on writing to it, and a restart opens whatever is at the path instead. Comparing the
 * inodes at the path with those open tells the store that its writes would not be found again.
 */
export class FileIdentity {
  private rescued = false

  private constructor(
    private readonly db: Database,
    private readonly path: string,
    private readonly data: Inode,
    private readonly wal: Inode | undefined,
    private readonly shm: Inode | undefined,
  ) {}

  /** Undefined for a database with no file of its own (in memory, temporary). */
  static of(db: Database): FileIdentity | undefined {
    if (db.memory || db.name === '') return undefined
    const path = resolve(db.name)
    const data = inodeAt(path)
    if (data === undefined) return undefined
    // In WAL mode the log exists from the first transaction on, and SQLite deletes it only when the last connection closes.
    const walMode = db.pragma('journal_mode', { simple: true }) === 'wal'
    return new FileIdentity(db, path, data, walMode ? inodeAt(`${path}-wal`) : undefined, walMode ? inodeAt(`${path}-shm`) : undefined)
  }

  /** Undefined while the path still names the files open; else what happened, as the error to report. */
  moved(): StoreFileMoved | undefined {
    const data = inodeAt(this.path)
    if (!same(this.data, data)) {
      return data === undefined
        ? new StoreFileMoved('STORE_FILE_DELETED', `the data file ${this.path} was deleted while open: writes are refused, as a restart would not find them`)
        : new StoreFileMoved('STORE_FILE_REPLACED', `another file was put at ${this.path} while the store had it open: writes are refused, as a restart would not find them`)
    }
    const wal = this.wal === undefined ? this.wal : inodeAt(`${this.path}-wal`)
    if (this.wal !== undefined && !same(this.wal, wal)) {
      this.rescue()
      return new StoreFileMoved(
        wal === undefined ? 'STORE_FILE_DELETED' : 'STORE_FILE_REPLACED',
        `the write-ahead log ${this.path}-wal ${wal === undefined ? 'was deleted' : 'was replaced'} while open: what it held was ` +
          'checkpointed into the data file; writes are refused until a restart',
      )
    }
    // Loses nothing by itself, but another process opening the file (an audit) would build an index of its own,
    // and the two would write past each other.
    const shm = this.shm === undefined ? this.shm : inodeAt(`${this.path}-shm`)
    if (this.shm !== undefined && !same(this.shm, shm)) {
      return new StoreFileMoved(
        shm === undefined ? 'STORE_FILE_DELETED' : 'STORE_FILE_REPLACED',
        `the WAL index ${this.path}-shm ${shm === undefined ? 'was deleted' : 'was replaced'} while open: other processes could ` +
          'no longer coordinate their writes with this one; writes are refused until a restart',
      )
    }
    return undefined
  }

  /**
   * The commits since the last checkpoint live only in the open log, which a restart would not find: copy them
   * into the data file, which is still the one at the path, once.
   */
  private rescue(): void {
    if (this.rescued || this.db.inTransaction || !this.db.open) return
    try {
      const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>
      // Another connection reading an older snapshot holds frames back: tried again at the next check.
      this.rescued = result !== undefined && result.busy === 0 && result.checkpointed === result.log
    } catch {
      // Tried again at the next check; the writes are refused meanwhile.
    }
  }
}
