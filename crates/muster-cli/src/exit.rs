//! Exit codes, for scripts: every code `muster` exits with is decided here, and only here.
//! The README's table ("Exit codes") lists the same; keep both in step.

use muster_core::run::RunStatus;

/// Nothing to change (or a read-only command succeeded).
pub const OK: u8 = 0;
/// Muster could not do its job: bad configuration, unreadable source, unreachable target,
/// store problem, stale plan, another apply running on the same store.
pub const ERROR: u8 = 1;
/// Changes were planned (`plan`) or all applied (`apply`).
pub const CHANGES: u8 = 2;
/// Something was blocked by a threshold or all-or-nothing limit, and nothing failed.
pub const BLOCKED: u8 = 3;
/// At least one action failed; for `muster mapping eval`, a field could not be computed for
/// at least one person (that person would be held, as a failed action is).
pub const FAILURES: u8 = 4;

/// The code of a run that ended with `status`.
pub fn of(status: RunStatus) -> u8 {
    match status {
        RunStatus::NoChanges => OK,
        RunStatus::Changes => CHANGES,
        RunStatus::Blocked => BLOCKED,
        RunStatus::Failures => FAILURES,
        RunStatus::Error | RunStatus::Interrupted => ERROR,
    }
}

/// The code of `muster mapping eval`: how many persons a field failed for.
pub fn of_mapping_eval(held: usize) -> u8 {
    if held > 0 {
        FAILURES
    } else {
        OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_documented_code() {
        let codes: Vec<(RunStatus, u8)> = RunStatus::ALL.iter().map(|s| (*s, of(*s))).collect();
        assert_eq!(
            codes,
            [
                (RunStatus::NoChanges, 0),
                (RunStatus::Changes, 2),
                (RunStatus::Blocked, 3),
                (RunStatus::Failures, 4),
                (RunStatus::Error, 1),
                (RunStatus::Interrupted, 1),
            ]
        );
        assert_eq!((of_mapping_eval(0), of_mapping_eval(2)), (0, 4));
    }
}
