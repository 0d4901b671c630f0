-- Muster state store, SQLite schema version 1.
--
-- Migrations are only ever added, never edited: sqlx refuses to open a database whose applied
-- migration no longer matches its file.
--
-- Written to port to PostgreSQL with few changes:
-- * timestamps are TEXT in RFC 3339 UTC with fixed microseconds (`2024-05-01T12:00:00.000000Z`),
--   so text order is time order; PostgreSQL uses TIMESTAMPTZ (also microseconds).
-- * JSON is TEXT; PostgreSQL uses JSONB.
-- * `INTEGER PRIMARY KEY AUTOINCREMENT` becomes `BIGINT GENERATED ALWAYS AS IDENTITY`.
-- * enums (run mode, action kind, states) are lowercase TEXT, checked when read back.
-- * upserts use `ON CONFLICT ... DO UPDATE`, partial indexes use `WHERE`: both dialects agree.

-- Store-wide settings, such as the HMAC key for fingerprints.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- One execution of the pipeline. `id` is a UUID v4, so several nodes can mint ids.
CREATE TABLE runs (
    id            TEXT PRIMARY KEY NOT NULL,
    mode          TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    status        TEXT,
    summary       TEXT,
    config_digest TEXT NOT NULL
);
CREATE INDEX runs_by_started_at ON runs (started_at);

-- One complete read of a source; the newest three per source are kept.
CREATE TABLE snapshots (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    source   TEXT NOT NULL,
    run      TEXT NOT NULL REFERENCES runs (id),
    digest   TEXT NOT NULL,
    persons  INTEGER NOT NULL,
    blocked  INTEGER NOT NULL,
    taken_at TEXT NOT NULL
);
CREATE INDEX snapshots_by_source ON snapshots (source, id);

CREATE TABLE snapshot_persons (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots (id),
    external_id TEXT NOT NULL,
    record_hash TEXT NOT NULL,
    record      TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, external_id)
);

-- Person <-> account per target. A deleted link is kept (state `deleted`) so a returning
-- person finds their old account.
CREATE TABLE links (
    target     TEXT NOT NULL,
    person     TEXT NOT NULL,
    account    TEXT NOT NULL,
    state      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (target, person)
);
-- No account is actively linked to two persons: that would be a duplicate in the making.
CREATE UNIQUE INDEX links_active_account ON links (target, account) WHERE state = 'active';

-- HMACs of values a target accepts but never returns (write-only fields).
CREATE TABLE fingerprints (
    target     TEXT NOT NULL,
    account    TEXT NOT NULL,
    field      TEXT NOT NULL,
    hmac       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (target, account, field)
);

-- The action journal, written before and after each request: `sent` rows left behind by a
-- crash are actions whose outcome is unknown.
CREATE TABLE journal (
    run        TEXT NOT NULL REFERENCES runs (id),
    target     TEXT NOT NULL,
    action     INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    person     TEXT NOT NULL,
    account    TEXT,
    state      TEXT NOT NULL,
    detail     TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run, target, action)
);
CREATE INDEX journal_by_state ON journal (state, target);

-- Action types a target threshold blocked in a run.
CREATE TABLE blocked (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run         TEXT NOT NULL REFERENCES runs (id),
    target      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    count       INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (run, target, kind)
);

-- An administrator's approval of one blocked record, consumed by the run that uses it.
CREATE TABLE approvals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    blocked_id  INTEGER NOT NULL UNIQUE REFERENCES blocked (id),
    run         TEXT NOT NULL REFERENCES runs (id),
    target      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    count       INTEGER NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    consumed_by TEXT REFERENCES runs (id),
    consumed_at TEXT
);
CREATE INDEX approvals_open ON approvals (target) WHERE consumed_by IS NULL;

-- One row per action outcome. No foreign key to runs: the audit trail outlives any pruning
-- of runs and journals. `changes` is the redacted JSON of the field changes.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    run        TEXT NOT NULL,
    target     TEXT NOT NULL,
    person     TEXT NOT NULL,
    action     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    account    TEXT,
    reason     TEXT NOT NULL,
    detail     TEXT,
    changes    TEXT NOT NULL,
    permission TEXT
);
CREATE INDEX audit_by_person ON audit (person, at);
CREATE INDEX audit_by_target ON audit (target, at);
CREATE INDEX audit_by_at ON audit (at);
CREATE INDEX audit_by_run ON audit (run);
