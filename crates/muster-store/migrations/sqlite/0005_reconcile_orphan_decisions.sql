-- Muster state store, SQLite schema: orphan decisions (`muster reconcile`).
--
-- What an administrator decided about an orphan account (an account in a target that no
-- person of the source owns), per target and account. `decision` is 'excluded' (left alone
-- until `until`, a YYYY-MM-DD date: the first day it is proposed again), 'resolved' (looked
-- at and accepted; never proposed again), 'disable' or 'delete' (planned as that action,
-- whatever the target's orphan policy says). One decision per account; a new one replaces it.
CREATE TABLE orphan_decisions (
    target      TEXT NOT NULL,
    account     TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('excluded', 'resolved', 'disable', 'delete')),
    until       TEXT,
    decided_by  TEXT NOT NULL,
    decided_at  TEXT NOT NULL,
    CHECK ((decision = 'excluded') = (until IS NOT NULL)),
    PRIMARY KEY (target, account)
);
