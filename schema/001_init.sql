-- 001: the crawl file.  Times are integer milliseconds since the Unix epoch
-- (datetime(x / 1000, 'unixepoch') shows them).  These tables and columns are
-- the documented interface for SQL users: rename nothing, only add.

CREATE TABLE settings (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per work item.  state: ready | inflight | done | failed.
-- vars holds the input row's other columns as a JSON object (NULL for a plain list).
CREATE TABLE items (
  id               INTEGER PRIMARY KEY,
  key              TEXT NOT NULL UNIQUE,
  vars             TEXT,
  state            TEXT NOT NULL DEFAULT 'ready'
                   CHECK (state IN ('ready', 'inflight', 'done', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL DEFAULT 0,
  last_http_status INTEGER,
  last_error       TEXT,
  updated_at       INTEGER NOT NULL DEFAULT 0,
  crashes          INTEGER NOT NULL DEFAULT 0
);
-- Claiming walks this index: ready items in due order, never the whole table.
CREATE INDEX items_ready ON items (next_attempt_at) WHERE state = 'ready';
CREATE INDEX items_inflight ON items (id) WHERE state = 'inflight';

-- Counts by state, so status never counts the table: kept current by the
-- triggers below for updates and deletes, and by trawl itself for inserts
-- (one UPDATE per added file, not one per row: a trigger per insert halved
-- the speed of `trawl add`).  Rows inserted by hand are not counted.
CREATE TABLE item_counts (
  state TEXT PRIMARY KEY,
  n     INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO item_counts (state, n)
  VALUES ('ready', 0), ('inflight', 0), ('done', 0), ('failed', 0);

CREATE TRIGGER items_count_delete AFTER DELETE ON items BEGIN
  UPDATE item_counts SET n = n - 1 WHERE state = old.state;
END;
CREATE TRIGGER items_count_update AFTER UPDATE OF state ON items
  WHEN old.state <> new.state BEGIN
  UPDATE item_counts SET n = n - 1 WHERE state = old.state;
  UPDATE item_counts SET n = n + 1 WHERE state = new.state;
END;

-- One row per item that reached a final HTTP answer worth keeping (2xx).
-- One column per declared field is added after these, named after the field.
CREATE TABLE results (
  item_id     INTEGER PRIMARY KEY REFERENCES items (id),
  http_status INTEGER NOT NULL,
  fetched_at  INTEGER NOT NULL,
  elapsed_ms  INTEGER NOT NULL,
  bytes       INTEGER NOT NULL,
  url         TEXT,
  body        BLOB
);

-- One row per `trawl run`.
CREATE TABLE runs (
  id           INTEGER PRIMARY KEY,
  pid          INTEGER NOT NULL,
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  ended_at     INTEGER,
  outcome      TEXT,          -- NULL while running (or if the process died)
  requests     INTEGER NOT NULL DEFAULT 0,
  done         INTEGER NOT NULL DEFAULT 0,
  failed       INTEGER NOT NULL DEFAULT 0,
  retried      INTEGER NOT NULL DEFAULT 0,
  inflight     INTEGER NOT NULL DEFAULT 0,
  rate         REAL NOT NULL DEFAULT 0  -- items finished per second, recent
);

-- One row per HTTP attempt.
CREATE TABLE attempts (
  id             INTEGER PRIMARY KEY,
  item_id        INTEGER NOT NULL REFERENCES items (id),
  run_id         INTEGER REFERENCES runs (id),
  started_at     INTEGER NOT NULL,
  http_status    INTEGER,
  error          TEXT,
  elapsed_ms     INTEGER NOT NULL,
  bytes          INTEGER NOT NULL DEFAULT 0,
  retry_after_ms INTEGER,
  outcome        TEXT NOT NULL  -- done | retry | failed
);
CREATE INDEX attempts_item ON attempts (item_id);

-- Per-host politeness state, so a restart during a pause does not burst.
CREATE TABLE hosts (
  host            TEXT PRIMARY KEY,
  rate_now        REAL NOT NULL DEFAULT 0,   -- allowed requests/s now, 0 = unlimited
  paused_until    INTEGER NOT NULL DEFAULT 0,
  reason          TEXT,
  complaints      INTEGER NOT NULL DEFAULT 0,
  last_complaint_at INTEGER NOT NULL DEFAULT 0,
  updated_at      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
