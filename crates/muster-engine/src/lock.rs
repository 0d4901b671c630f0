//! One apply at a time per state store. Crash recovery ([`crate::recover`]) closes the journal
//! entries of runs that never finished, which is only right when their process is gone; this
//! lock makes that true.
//!
//! - SQLite: an OS file lock (`flock`) on `<store>.lock` next to the SQLite file, so a process
//!   that dies — even by SIGKILL — releases it at once, and no stale lock is ever left to clean
//!   up.
//! - PostgreSQL (several nodes): the lease `apply` in the store ([`crate::coord`]), renewed
//!   while the apply runs. A node that dies stops renewing and another node takes the lease
//!   once its deadline has passed; a node that cannot renew (its connection to PostgreSQL is
//!   gone) stops its apply between batches before that deadline ([`ApplyLock::lost`]).

use crate::config::{Config, StoreConfig};
use crate::coord::{Coordinator, LeaseGuard, APPLY_LEASE};
use crate::error::EngineError;
use std::fs::File;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Held while a run may write to targets; released when dropped (or when the process dies).
#[derive(Debug)]
pub enum ApplyLock {
    File(FileLock),
    Lease(LeaseGuard),
}

impl ApplyLock {
    /// Takes the configured store's apply lock: the lease `apply` when several nodes share it
    /// (PostgreSQL, `coord`), else the file lock beside the SQLite file. The one place that
    /// decides which lock a store gets.
    pub async fn take(config: &Config, coord: Option<&Coordinator>) -> Result<Self, EngineError> {
        let coord = match (&config.store, coord) {
            (_, Some(coord)) => coord,
            (StoreConfig::Sqlite { path }, None) => {
                return FileLock::acquire(&sqlite_lock_file(path)).map(ApplyLock::File)
            }
            (StoreConfig::Postgres(_), None) => {
                return FileLock::acquire(&config.base_dir.join(POSTGRES_LOCK_FILE))
                    .map(ApplyLock::File)
            }
        };
        let lease_error = |error| EngineError::Lease {
            lease: APPLY_LEASE.to_owned(),
            error: Box::new(error),
        };
        match coord.acquire(APPLY_LEASE).await.map_err(lease_error)? {
            Ok(guard) => Ok(ApplyLock::Lease(guard)),
            Err(busy) => Err(EngineError::LeaseHeld {
                lease: APPLY_LEASE.to_owned(),
                holder: busy.holder,
                deadline: busy.deadline.to_rfc3339(),
            }),
        }
    }

    /// Cancelled when the lock is lost (a lease that could not be renewed in time): the apply
    /// must stop sending. A file lock is never lost while the process lives.
    pub fn lost(&self) -> CancellationToken {
        match self {
            ApplyLock::File(_) => CancellationToken::new(),
            ApplyLock::Lease(guard) => guard.lost(),
        }
    }

    /// The stop token of one run under this lock: cancelled when `parent` is (a shutdown) or
    /// when the lock is lost. The watcher ends with the returned value.
    pub fn run_stop(&self, parent: &CancellationToken) -> RunStop {
        let token = parent.child_token();
        let lost = self.lost();
        let stop = token.clone();
        let watcher = tokio::spawn(async move {
            lost.cancelled().await;
            stop.cancel();
        });
        RunStop { token, watcher }
    }

    /// Lets go now (a lease is released in the database, so no node waits for its deadline).
    pub async fn release(self) {
        match self {
            ApplyLock::File(lock) => drop(lock),
            ApplyLock::Lease(guard) => guard.release().await,
        }
    }
}

/// A run's stop token, cancelled by a shutdown or a lost lock ([`ApplyLock::run_stop`]).
#[derive(Debug)]
pub struct RunStop {
    token: CancellationToken,
    watcher: tokio::task::JoinHandle<()>,
}

impl RunStop {
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

impl Drop for RunStop {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// The SQLite store's apply lock: a locked file, released when dropped.
#[derive(Debug)]
pub struct FileLock {
    // Kept open: closing the file releases the lock.
    _file: File,
    path: PathBuf,
}

/// The lock file of a PostgreSQL store opened without coordination (tests), in the
/// configuration's folder.
pub const POSTGRES_LOCK_FILE: &str = "muster-postgres.lock";

/// `<store>.lock`, next to the SQLite file.
pub fn sqlite_lock_file(store_path: &Path) -> PathBuf {
    let mut name = store_path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl FileLock {
    /// Takes the OS lock on the file at `path` (created when missing), or says that another
    /// Muster holds it.
    pub fn acquire(path: &Path) -> Result<Self, EngineError> {
        let path = path.to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| EngineError::Lock {
                path: path.display().to_string(),
                error,
            })?;
        }
        let file = muster_store::private_file::open_or_create(&path).map_err(|error| {
            EngineError::Lock {
                path: path.display().to_string(),
                error,
            }
        })?;
        match fs4::fs_std::FileExt::try_lock_exclusive(&file) {
            Ok(true) => Ok(Self { _file: file, path }),
            Ok(false) => Err(EngineError::AlreadyApplying {
                lock: path.display().to_string(),
            }),
            Err(error) => Err(EngineError::Lock {
                path: path.display().to_string(),
                error,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_apply_on_the_same_store_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_lock_file(&dir.path().join("state/muster.db"));
        let first = FileLock::acquire(&store).unwrap();
        assert!(first.path().ends_with("muster.db.lock"));
        let refused = FileLock::acquire(&store).unwrap_err().to_string();
        assert!(refused.contains("another Muster"), "{refused}");
        drop(first);
        assert!(FileLock::acquire(&store).is_ok());
    }
}
