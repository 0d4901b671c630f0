//! What names a run and says how it went: its id, its mode and its status. The store keeps
//! each as the same lowercase text in its columns; the CLI maps a status to its exit code
//! (`muster-cli`'s `exit.rs`), the server shows it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A run's id: a UUID v4 in lowercase hyphenated text (the store mints it), so several nodes
/// can mint ids. Reads as `&str` where a prefix or a name is asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for RunId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&str> for RunId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl std::ops::Deref for RunId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for RunId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for RunId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<RunId> for String {
    fn eq(&self, other: &RunId) -> bool {
        *self == other.0
    }
}

impl PartialEq<&str> for RunId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Defines a text-backed enum with `as_str`, `Display` and `FromStr`, so a value is stored as
/// the same word everywhere (database, JSON, CLI). Used by this crate and by `muster-store`
/// (the caller needs `serde` and `thiserror`).
#[macro_export]
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident, $err:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[doc = concat!("Text that names no [`", stringify!($name), "`].")]
        #[derive(Debug, Clone, PartialEq, Eq, ::thiserror::Error)]
        #[error("unknown {} `{}`: expected one of {}", $what, .0, [$($text),+].join(", "))]
        pub struct $err(pub String);

        impl ::std::str::FromStr for $name {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($err(other.to_owned())),
                }
            }
        }
    };
}

text_enum!(
    /// Whether a run only planned or also executed.
    RunMode, UnknownRunMode, "run mode" {
        /// Plan only; nothing is sent to a target.
        Preview => "preview",
        /// Plan, gate and execute.
        Apply => "apply",
        /// One person's create at sign-in (just-in-time provisioning): executes like an
        /// apply, without the apply lock, so another process's recovery must tell it apart.
        SignIn => "sign-in",
    }
);

/// A summary made without a run (tests, a dry report) counts as a preview.
impl Default for RunMode {
    fn default() -> Self {
        RunMode::Preview
    }
}

text_enum!(
    /// How a run ended. Ordered by weight: a run's status is the heaviest of its targets'.
    RunStatus, UnknownRunStatus, "run status" {
        /// Nothing to change.
        NoChanges => "no-changes",
        /// Changes were planned (preview) or all applied.
        Changes => "changes",
        /// Something was blocked by a threshold or all-or-nothing limit (and nothing failed).
        Blocked => "blocked",
        /// At least one action failed.
        Failures => "failures",
        /// The run stopped with an error before it could report (bad source, unreachable
        /// target, store failure).
        Error => "error",
        /// The run's process died before it finished; the next apply closed it (and settled
        /// what it left in flight).
        Interrupted => "interrupted",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_statuses_read_back_from_their_text() {
        for mode in RunMode::ALL {
            assert_eq!(mode.as_str().parse::<RunMode>(), Ok(*mode));
            assert_eq!(
                serde_json::to_value(mode).unwrap(),
                serde_json::json!(mode.as_str())
            );
        }
        for status in RunStatus::ALL {
            assert_eq!(status.as_str().parse::<RunStatus>(), Ok(*status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        let err = "done".parse::<RunStatus>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown run status `done`: expected one of no-changes, changes, blocked, failures, error, interrupted"
        );
    }

    #[test]
    fn the_heaviest_status_wins() {
        assert!(RunStatus::NoChanges < RunStatus::Changes);
        assert!(RunStatus::Changes < RunStatus::Blocked);
        assert!(RunStatus::Blocked < RunStatus::Failures);
        assert!(RunStatus::Failures < RunStatus::Error);
    }

    #[test]
    fn a_run_id_reads_as_its_text() {
        let id = RunId::from("0b6f");
        assert_eq!(&*id, "0b6f");
        assert_eq!(id, "0b6f");
        assert_eq!(
            serde_json::to_value(&id).unwrap(),
            serde_json::json!("0b6f")
        );
    }
}
