-- Muster state store, SQLite schema version 5 (`muster serve`).
--
-- API tokens: only the SHA-256 of a token is kept (hex), never the token itself, which is
-- shown once when it is made. `id` is a short public handle for listing and revoking; a
-- revoked token stays listed with `revoked_at` set and is refused from then on.
CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'approver', 'admin')),
    hash        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Who approved or rejected which blocked record of a run, and why. An approval also has its
-- row in `approvals` (which a later run consumes); a rejection only lives here and keeps the
-- record from being approved afterwards.
CREATE TABLE decisions (
    blocked_id  INTEGER PRIMARY KEY REFERENCES blocked (id),
    run         TEXT NOT NULL REFERENCES runs (id),
    target      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    decided_by  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    decided_at  TEXT NOT NULL
);
CREATE INDEX decisions_run ON decisions (run);

-- The newest plan of each target that a run made (the run's whole `TargetPlan` as JSON,
-- secret values already `***`), for `GET /api/v1/targets/{target}/plan`. Saving a target's
-- plan drops its older one.
CREATE TABLE plans (
    target      TEXT PRIMARY KEY,
    run         TEXT NOT NULL REFERENCES runs (id),
    plan        TEXT NOT NULL,
    saved_at    TEXT NOT NULL
);

-- One person across every target (`GET /api/v1/persons/{id}`).
CREATE INDEX links_by_person ON links (person);
