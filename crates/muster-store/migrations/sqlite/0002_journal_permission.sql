-- Muster state store, SQLite schema version 2.
--
-- The permission (group name) a Grant or Revoke is about, so that after a crash an in-flight
-- journal entry can be matched with the equivalent action of a fresh plan: target, kind,
-- person and permission identify an action across runs. NULL for every other kind, and for
-- entries written before this migration.
ALTER TABLE journal ADD COLUMN permission TEXT;

-- Entries still open (`planned`, `sent`) are looked up by state across runs at every apply.
CREATE INDEX runs_unfinished ON runs (started_at) WHERE finished_at IS NULL;
