//! Who a request is for: a person signing in (just-in-time provisioning) or scheduled work.
//! The priority is task-local, set by the engine around a sign-in's work
//! ([`interactive`]) and read by the target's [`TokenBucket`](super::rate::TokenBucket), which
//! hands its next token to a waiting sign-in before any scheduled request. The budget itself is
//! the same bucket for both, so it is never exceeded.
//!
//! A task-local does not follow `tokio::spawn`: code that spawns a request's task on behalf of
//! its caller carries the caller's priority over with [`current`] and [`scoped`].

use std::future::Future;

/// Which queue of a target's rate budget a request waits in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// A scheduled run, an import, a reconcile: everything that is not a person waiting.
    #[default]
    Scheduled,
    /// A sign-in: someone waits for the answer within the identity provider's time budget.
    Interactive,
}

tokio::task_local! {
    static PRIORITY: Priority;
}

/// The priority of the running task ([`Priority::Scheduled`] unless set).
pub fn current() -> Priority {
    PRIORITY.try_with(|p| *p).unwrap_or_default()
}

/// Runs `work` with `priority` for every request it sends (in this task).
pub fn scoped<F: Future>(priority: Priority, work: F) -> impl Future<Output = F::Output> {
    PRIORITY.scope(priority, work)
}

/// Runs `work` ahead of scheduled work in every target's rate budget.
pub fn interactive<F: Future>(work: F) -> impl Future<Output = F::Output> {
    scoped(Priority::Interactive, work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_priority_is_scheduled_unless_set_and_ends_with_its_scope() {
        assert_eq!(current(), Priority::Scheduled);
        let inside = interactive(async { current() }).await;
        assert_eq!(inside, Priority::Interactive);
        assert_eq!(current(), Priority::Scheduled);
        // Carried into a spawned task only when passed on.
        let p = interactive(async {
            let p = current();
            tokio::spawn(scoped(p, async { current() })).await.unwrap()
        })
        .await;
        assert_eq!(p, Priority::Interactive);
    }
}
