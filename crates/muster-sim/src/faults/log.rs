//! The fault log: what [`super::inject`] did to which request, served as `GET /_sim/faults`
//! and kept to [`FAULT_LOG_CAP`] entries.

use std::collections::VecDeque;

use serde::Serialize;

/// Most fault log entries kept; older ones are evicted, so a long benchmark cannot grow it
/// without bound.
pub const FAULT_LOG_CAP: usize = 10_000;

/// What was injected into one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answered 429: the rate limit's budget was spent.
    RateLimited,
    /// Answered 5xx without applying.
    #[serde(rename = "error_5xx")]
    Error5xx,
    /// Applied, then answered 503.
    #[serde(rename = "error_5xx_after_apply")]
    Error5xxAfterApply,
    /// Connection closed unanswered, nothing applied.
    Drop,
    /// Applied, then the connection closed unanswered.
    DropAfterApply,
    /// Applied, then answered only after `hang_ms`.
    Hang,
    /// Answered 429 by `throttle_ratio`, not applied.
    Throttled,
    /// Applied, answered with a body cut into malformed JSON.
    MalformedJson,
    /// Delayed by `slow_ms` before being handled.
    Slow,
}

/// One entry of the fault log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultEvent {
    /// Position in the log, from 1; keeps counting when old entries are evicted.
    pub seq: u64,
    /// HTTP method of the request.
    pub method: String,
    /// Path under the simulator's API path, e.g. Zivver's `/Users/6c0e…`.
    pub path: String,
    /// What was injected.
    pub fault: FaultKind,
    /// The status answered, if one was.
    pub status: Option<u16>,
}

/// The last [`FAULT_LOG_CAP`] events.
#[derive(Debug, Default)]
pub(super) struct FaultLog {
    events: VecDeque<FaultEvent>,
    next_seq: u64,
}

impl FaultLog {
    /// Appends one event, evicting the oldest beyond the cap.
    pub(super) fn push(&mut self, method: &str, path: &str, fault: FaultKind, status: Option<u16>) {
        self.next_seq += 1;
        if self.events.len() >= FAULT_LOG_CAP {
            self.events.pop_front();
        }
        self.events.push_back(FaultEvent {
            seq: self.next_seq,
            method: method.to_string(),
            path: path.to_string(),
            fault,
            status,
        });
    }

    /// Every event kept, oldest first.
    pub(super) fn events(&self) -> Vec<FaultEvent> {
        self.events.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_newest_entries_and_counts_on() {
        let mut log = FaultLog::default();
        for _ in 0..FAULT_LOG_CAP + 2 {
            log.push("GET", "/x", FaultKind::Drop, None);
        }
        let events = log.events();
        assert_eq!(events.len(), FAULT_LOG_CAP);
        assert_eq!(events[0].seq, 3);
        assert_eq!(events[FAULT_LOG_CAP - 1].seq, FAULT_LOG_CAP as u64 + 2);
    }
}
