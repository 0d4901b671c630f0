//! Exit codes, for scripts. Documented in the README; keep both in step.

use muster_core::report::RunStatus;

/// Nothing to change (or a read-only command succeeded).
pub const OK: u8 = 0;
/// Muster could not do its job: bad configuration, unreadable source, unreachable target,
/// store problem, stale plan.
pub const ERROR: u8 = 1;

pub fn of(status: RunStatus) -> u8 {
    status as u8
}
