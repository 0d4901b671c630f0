-- Muster state store, SQLite schema: the newest import and reconcile report of each target.
--
-- `muster import` and `muster reconcile` (and the engine calls behind them) keep their whole
-- report as JSON, one row per target and kind; a newer one replaces it. For
-- `GET /api/v1/reports/{kind}/{target}` and the dashboard. No secrets: the reports hold ids,
-- correlation values and counts only.
CREATE TABLE reports (
    target      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('import', 'reconcile')),
    report      TEXT NOT NULL,
    saved_at    TEXT NOT NULL,
    PRIMARY KEY (target, kind)
);
