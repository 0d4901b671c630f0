-- Muster state store, SQLite schema version 4.
--
-- Values computed by mapping scripts (HelloID `Complex` mappings), kept so that a new process
-- only runs a script for persons whose record changed since the values were stored. A cache:
-- deleting these rows only costs the next run the time to compute them again.
--
-- `computed_scripts`: one row per script of a target's mapping, named by the mapping field and
-- the digest of the script as it runs (source, the field's Type, the engine): a changed script
-- has another digest, so its old values are never used (and are dropped by the next save).
-- `computed_values`: one script's result for one person: `person_digest` is a 128-bit digest of
-- everything the script can see of the person, `iteration` the `Iteration` it ran with.
-- `value_json` is the value as JSON (NULL: the script gave no value), `error` the script's
-- own failure (a throw, a wrong type), which holds that person again without running it.
-- Values of secret mappings are never stored.
CREATE TABLE computed_scripts (
    id              INTEGER PRIMARY KEY,
    target          TEXT NOT NULL,
    field           TEXT NOT NULL,
    mapping_digest  TEXT NOT NULL,
    saved_at        TEXT NOT NULL,
    UNIQUE (target, field, mapping_digest)
);

CREATE TABLE computed_values (
    script          INTEGER NOT NULL REFERENCES computed_scripts (id) ON DELETE CASCADE,
    person_digest   BLOB NOT NULL,
    iteration       INTEGER NOT NULL,
    value_json      TEXT,
    error           TEXT,
    CHECK (value_json IS NULL OR error IS NULL),
    PRIMARY KEY (script, person_digest, iteration)
) WITHOUT ROWID;
