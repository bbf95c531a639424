/**
 * The schema, one step per version, in both dialects side by side, so a change to the tables is
 * made to both at once and reviewed in one place. A step is never edited once released: a change
 * is a new step. Each store records the steps it has applied its own way.
 */
export const schemaSteps: ReadonlyArray<{ readonly version: number; readonly name: string; readonly sqlite: string; readonly postgres: string }> = [
  {
    version: 1,
    name: 'event log and balance projection',
    sqlite: `
      CREATE TABLE events (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL CHECK (user_id > 0),
        version     INTEGER NOT NULL CHECK (version > 0),
        type        TEXT    NOT NULL CHECK (type IN ('CHARGE', 'USE')),
        amount      INTEGER NOT NULL CHECK (amount > 0),
        time_millis INTEGER NOT NULL
      );
      -- One event per (user, version), and the index a user's history is read through.
      CREATE UNIQUE INDEX events_by_user_version ON events (user_id, version);

      CREATE TABLE balances (
        user_id       INTEGER PRIMARY KEY,
        point         INTEGER NOT NULL CHECK (point >= 0),
        version       INTEGER NOT NULL CHECK (version > 0),
        update_millis INTEGER NOT NULL
      );
    `,
    postgres: `
      CREATE TABLE events (
        id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id     BIGINT  NOT NULL CHECK (user_id > 0),
        version     INTEGER NOT NULL CHECK (version > 0),
        type        TEXT    NOT NULL CHECK (type IN ('CHARGE', 'USE')),
        amount      BIGINT  NOT NULL CHECK (amount > 0),
        time_millis BIGINT  NOT NULL
      );
      -- One event per (user, version): the last line of defence between two instances, and the history index.
      CREATE UNIQUE INDEX events_by_user_version ON events (user_id, version);

      CREATE TABLE balances (
        user_id       BIGINT  PRIMARY KEY,
        point         BIGINT  NOT NULL CHECK (point >= 0),
        version       INTEGER NOT NULL CHECK (version > 0),
        update_millis BIGINT  NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'idempotency receipts',
    sqlite: `
      -- The answer given to each keyed command, written in the same transaction as its events.
      CREATE TABLE receipts (
        key           TEXT    PRIMARY KEY,
        user_id       INTEGER NOT NULL CHECK (user_id > 0),
        fingerprint   TEXT    NOT NULL,
        outcome       TEXT    NOT NULL CHECK (json_valid(outcome)),
        update_millis INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
    postgres: `
      CREATE TABLE receipts (
        key           TEXT   PRIMARY KEY,
        user_id       BIGINT NOT NULL CHECK (user_id > 0),
        fingerprint   TEXT   NOT NULL,
        outcome       JSONB  NOT NULL,
        update_millis BIGINT NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'balance after each event, and the index a point-in-time read looks it up by',
    // SQLite cannot make an added column NOT NULL without a default, so the table is rebuilt, ids kept.
    // No CHECK on the balance: a log the audit would flag must still migrate, for the audit to flag it.
    sqlite: `
      CREATE TABLE events_v3 (
        id            INTEGER PRIMARY KEY,
        user_id       INTEGER NOT NULL CHECK (user_id > 0),
        version       INTEGER NOT NULL CHECK (version > 0),
        type          TEXT    NOT NULL CHECK (type IN ('CHARGE', 'USE')),
        amount        INTEGER NOT NULL CHECK (amount > 0),
        time_millis   INTEGER NOT NULL,
        balance_after INTEGER NOT NULL
      );
      INSERT INTO events_v3 (id, user_id, version, type, amount, time_millis, balance_after)
        SELECT id, user_id, version, type, amount, time_millis,
               sum(iif(type = 'CHARGE', amount, -amount)) OVER (PARTITION BY user_id ORDER BY version)
        FROM events;
      DROP TABLE events;
      ALTER TABLE events_v3 RENAME TO events;
      CREATE UNIQUE INDEX events_by_user_version ON events (user_id, version);
      -- The last event at or before a moment: times only grow along a user's versions (see insert-events.ts).
      CREATE INDEX events_by_user_time ON events (user_id, time_millis, version);
    `,
    postgres: `
      ALTER TABLE events ADD COLUMN balance_after BIGINT;
      UPDATE events SET balance_after = running.balance
        FROM (
          SELECT id, sum(CASE WHEN type = 'CHARGE' THEN amount ELSE -amount END) OVER (PARTITION BY user_id ORDER BY version) AS balance
          FROM events
        ) AS running
        WHERE events.id = running.id;
      ALTER TABLE events ALTER COLUMN balance_after SET NOT NULL;
      -- The last event at or before a moment: times only grow along a user's versions (see claim-and-write.ts).
      CREATE INDEX events_by_user_time ON events (user_id, time_millis, version);
    `,
  },
  {
    version: 4,
    name: 'receipts keyed per user, with an index on their time for pruning',
    sqlite: `
      -- A key names a command of one user only: the same key on another user is another command.
      CREATE TABLE receipts_by_user (
        user_id       INTEGER NOT NULL CHECK (user_id > 0),
        key           TEXT    NOT NULL,
        fingerprint   TEXT    NOT NULL,
        outcome       TEXT    NOT NULL CHECK (json_valid(outcome)),
        update_millis INTEGER NOT NULL,
        PRIMARY KEY (user_id, key)
      ) WITHOUT ROWID;
      INSERT INTO receipts_by_user (user_id, key, fingerprint, outcome, update_millis)
        SELECT user_id, key, fingerprint, outcome, update_millis FROM receipts;
      DROP TABLE receipts;
      ALTER TABLE receipts_by_user RENAME TO receipts;
      -- Pruning deletes the oldest receipts a small batch at a time through this index.
      CREATE INDEX receipts_by_time ON receipts (update_millis);
    `,
    postgres: `
      ALTER TABLE receipts DROP CONSTRAINT receipts_pkey;
      ALTER TABLE receipts ADD PRIMARY KEY (user_id, key);
      CREATE INDEX receipts_by_time ON receipts (update_millis);
    `,
  },
  {
    version: 5,
    name: 'refunds and holds: event links, hold expiry, and the active holds kept by triggers',
    // SQLite cannot widen a CHECK in place, so the table is rebuilt, ids kept. `ref` links a REFUND to its use's
    // id, and a HOLD, CAPTURE, RELEASE or EXPIRE to the hold's id (the version of its HOLD event).
    sqlite: `
      CREATE TABLE events_v5 (
        id             INTEGER PRIMARY KEY,
        user_id        INTEGER NOT NULL CHECK (user_id > 0),
        version        INTEGER NOT NULL CHECK (version > 0),
        type           TEXT    NOT NULL CHECK (type IN ('CHARGE', 'USE', 'REFUND', 'HOLD', 'CAPTURE', 'RELEASE', 'EXPIRE')),
        amount         INTEGER NOT NULL CHECK (amount > 0),
        time_millis    INTEGER NOT NULL,
        balance_after  INTEGER NOT NULL,
        ref            INTEGER CHECK ((ref IS NULL) = (type IN ('CHARGE', 'USE'))),
        expires_millis INTEGER CHECK ((expires_millis IS NULL) = (type <> 'HOLD'))
      );
      INSERT INTO events_v5 (id, user_id, version, type, amount, time_millis, balance_after)
        SELECT id, user_id, version, type, amount, time_millis, balance_after FROM events;
      DROP TABLE events;
      ALTER TABLE events_v5 RENAME TO events;
      CREATE UNIQUE INDEX events_by_user_version ON events (user_id, version);
      CREATE INDEX events_by_user_time ON events (user_id, time_millis, version);
      -- A use's refunds, a hold's resolution: found by what they link to.
      CREATE INDEX events_by_ref ON events (user_id, ref) WHERE ref IS NOT NULL;

      -- The holds no event has resolved yet, kept by the triggers below in the transaction that appends the
      -- event, so it is always the fold of the log; the sweeper finds due holds through their expiry.
      CREATE TABLE holds (
        user_id        INTEGER NOT NULL,
        hold_id        INTEGER NOT NULL,
        amount         INTEGER NOT NULL,
        expires_millis INTEGER NOT NULL,
        placed_millis  INTEGER NOT NULL,
        PRIMARY KEY (user_id, hold_id)
      ) WITHOUT ROWID;
      CREATE INDEX holds_by_expiry ON holds (expires_millis);
      CREATE TRIGGER hold_placed AFTER INSERT ON events WHEN new.type = 'HOLD' BEGIN
        INSERT INTO holds (user_id, hold_id, amount, expires_millis, placed_millis)
          VALUES (new.user_id, new.ref, new.amount, new.expires_millis, new.time_millis);
      END;
      CREATE TRIGGER hold_ended AFTER INSERT ON events WHEN new.type IN ('CAPTURE', 'RELEASE', 'EXPIRE') BEGIN
        DELETE FROM holds WHERE user_id = new.user_id AND hold_id = new.ref;
      END;
    `,
    postgres: `
      ALTER TABLE events ADD COLUMN ref BIGINT, ADD COLUMN expires_millis BIGINT;
      ALTER TABLE events DROP CONSTRAINT events_type_check;
      ALTER TABLE events ADD CONSTRAINT events_type_check
        CHECK (type IN ('CHARGE', 'USE', 'REFUND', 'HOLD', 'CAPTURE', 'RELEASE', 'EXPIRE'));
      ALTER TABLE events ADD CONSTRAINT events_ref_check CHECK ((ref IS NULL) = (type IN ('CHARGE', 'USE')));
      ALTER TABLE events ADD CONSTRAINT events_expires_check CHECK ((expires_millis IS NULL) = (type <> 'HOLD'));
      CREATE INDEX events_by_ref ON events (user_id, ref) WHERE ref IS NOT NULL;

      CREATE TABLE holds (
        user_id        BIGINT NOT NULL,
        hold_id        BIGINT NOT NULL,
        amount         BIGINT NOT NULL,
        expires_millis BIGINT NOT NULL,
        placed_millis  BIGINT NOT NULL,
        PRIMARY KEY (user_id, hold_id)
      );
      CREATE INDEX holds_by_expiry ON holds (expires_millis);
      CREATE FUNCTION keep_holds() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.type = 'HOLD' THEN
          INSERT INTO holds (user_id, hold_id, amount, expires_millis, placed_millis)
            VALUES (NEW.user_id, NEW.ref, NEW.amount, NEW.expires_millis, NEW.time_millis);
        ELSE
          DELETE FROM holds WHERE user_id = NEW.user_id AND hold_id = NEW.ref;
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER keep_holds AFTER INSERT ON events
        FOR EACH ROW WHEN (NEW.type IN ('HOLD', 'CAPTURE', 'RELEASE', 'EXPIRE')) EXECUTE FUNCTION keep_holds();
    `,
  },
  {
    version: 6,
    name: 'change feed: the writing transaction of each event',
    // SQLite commits one writer at a time, taking ids under its write lock: the id is already a feed position.
    sqlite: `
      -- Nothing to add.
    `,
    // Ids are taken before commit, so they are not in commit order; the writing transaction's id orders the feed
    // (see read-feed.ts). Rows from before this step all get this step's transaction, behind every later write.
    // A transaction may take its id long before it writes a user (it waited for the row's lock while others wrote
    // it), so an event's tx is never below the one of the user's event before it: each user's events stay in
    // version order. A row keeps the tx of a transaction that has ended, so the feed's wait still covers it.
    postgres: `
      ALTER TABLE events ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
      CREATE INDEX events_by_feed ON events (tx, id);
      CREATE FUNCTION events_feed_tx() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.tx := greatest(NEW.tx, (SELECT tx FROM events WHERE user_id = NEW.user_id AND version = NEW.version - 1));
        RETURN NEW;
      END
      $$;
      CREATE TRIGGER events_feed_tx BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_feed_tx();
    `,
  },
  {
    version: 7,
    name: 'change feed: the append statements raise an event\'s transaction, not a trigger',
    sqlite: `
      -- Nothing to change: SQLite's feed has no transaction column.
    `,
    // The statements that append events set tx themselves, to the same value the trigger gave (see feed-tx.ts),
    // from the user's previous event they already look up for its time: a per-row trigger was the dearer way.
    postgres: `
      DROP TRIGGER events_feed_tx ON events;
      DROP FUNCTION events_feed_tx();
    `,
  },
  {
    version: 8,
    name: 'the point-in-time read searches a user\'s events by version, and the time index goes',
    // A user's times never go backwards (see insert-events.ts), so the last event at or before a moment is found by
    // a binary search on (user_id, version) (see read-balance-at.ts). The time index cost each append a B-tree
    // page of its own, about a third of what SQLite wrote per event; the history read walks the version index.
    sqlite: `
      DROP INDEX events_by_user_time;
    `,
    // The same holds on PostgreSQL (see claim-and-write.ts and read-balance-at.ts). There the time index cost each
    // appended event an index entry of its own: 7–15% of PostgreSQL's CPU and 15–24% of its WAL per event, on
    // the store's batch statement over 10,000 users and on a hot user's 50 events. The `?at=` read pays for it
    // instead, with a lookup per step of its search: about twenty on a user of a million events.
    postgres: `
      DROP INDEX events_by_user_time;
    `,
  },
  {
    version: 9,
    name: 'SQLite reads a balance from the user\'s last event, and the balance projection goes',
    // Every event stores the balance it leaves (step 3) and a user's versions have no gaps, so the user's last event,
    // found through events_by_user_version backwards, holds all the projection row did. The row cost each append a
    // B-tree page of its own at a random place in the file: on the committer, in batches of 40 charges to random
    // users of 10,000 after 120,000 warm-up events, the log took 1.80 pages an event with the row and 1.16 without,
    // and an event 58–89 µs of wall and 31–47 of CPU with it, 40–64 and 23–35 without (eight alternating runs each).
    sqlite: `
      DROP TABLE balances;
    `,
    // PostgreSQL keeps its projection: its rows are what two instances writing one user lock, and check the version
    // against (see claim-and-write-all.ts).
    postgres: `
      -- Nothing to change: PostgreSQL keeps its balance projection.
    `,
  },
]
