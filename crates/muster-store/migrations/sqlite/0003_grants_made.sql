-- Muster state store, SQLite schema version 3.
--
-- Grants Muster made that the target's own read does not show: class placements in Zermelo
-- (which cannot be listed), and HelloID product requests that may still wait for approval.
-- `state` is 'granted' (done; counted as an observed membership when the target cannot show
-- memberships) or 'requested' (accepted as a request; not requested again until it is older
-- than the target's pending time-to-live). A done Revoke deletes the row.
CREATE TABLE grants_made (
    target      TEXT NOT NULL,
    account     TEXT NOT NULL,
    group_ref   TEXT NOT NULL,
    group_name  TEXT NOT NULL,
    person      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('granted', 'requested')),
    made_at     TEXT NOT NULL,
    PRIMARY KEY (target, account, group_ref)
);
