-- Muster state store, PostgreSQL: coordination of several nodes (issue 18).
--
-- `leases`: who does a piece of work that only one node may do at a time (`apply`: the apply
-- of this store; `scheduler`: firing the schedules). `deadline` is set by the database's clock
-- (`now() + ttl`) at every renewal; a lease whose deadline has passed may be taken by another
-- node. A holder gives its lease up on a clean stop (the row is deleted).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    deadline    TIMESTAMPTZ NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL
);

-- `schedule_firings`: each firing of a schedule, claimed once by the node that starts it (the
-- primary key refuses a second claim). The newest hundred per schedule are kept.
CREATE TABLE schedule_firings (
    schedule   TEXT NOT NULL,
    fire_at    TIMESTAMPTZ NOT NULL,
    node       TEXT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (schedule, fire_at)
);
