//! Small pieces every connector needs alike: whether the object a request was about exists
//! ([`Found`]), the errors that name the target ([`TargetErrors`]), the run's warnings
//! ([`Warnings`]) and a lock that survives a panicked holder ([`lock`]).

use muster_core::connector::ConnectorError;
use muster_core::{AccountRef, GroupRef, TargetName};
use std::sync::{Mutex, MutexGuard};

/// Did the object the request was about exist?
pub(crate) enum Found<T> {
    Yes(T),
    Gone,
}

/// Locks `m`, taking the data even if a holder panicked: every holder leaves it whole (pushes
/// and inserts only).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The errors a connector raises about its own target.
pub(crate) trait TargetErrors {
    fn target_name(&self) -> &TargetName;

    fn protocol(&self, detail: String) -> ConnectorError {
        ConnectorError::Protocol {
            target: self.target_name().clone(),
            detail,
        }
    }

    fn config_error(&self, detail: String) -> ConnectorError {
        ConnectorError::Config {
            target: self.target_name().clone(),
            detail,
        }
    }

    fn account_gone(&self, account: &AccountRef) -> ConnectorError {
        ConnectorError::AccountGone {
            target: self.target_name().clone(),
            account: account.clone(),
        }
    }

    fn group_gone(&self, group: &GroupRef) -> ConnectorError {
        ConnectorError::GroupGone {
            target: self.target_name().clone(),
            group: group.clone(),
        }
    }
}

/// Warnings for the run report, each once, in the order they arose.
#[derive(Debug, Default)]
pub(crate) struct Warnings(Mutex<Vec<String>>);

impl Warnings {
    /// Adds `message` unless it is there already.
    pub(crate) fn add(&self, message: String) {
        let mut w = lock(&self.0);
        if !w.contains(&message) {
            w.push(message);
        }
    }

    pub(crate) fn all(&self) -> Vec<String> {
        lock(&self.0).clone()
    }
}
