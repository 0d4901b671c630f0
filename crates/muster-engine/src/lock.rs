//! One apply at a time per state store. Crash recovery ([`crate::recover`]) closes the journal
//! entries of runs that never finished, which is only right when their process is gone; this
//! lock makes that true. It is an OS file lock (`flock`) on `<store>.lock` next to the SQLite
//! file, so a process that dies — even by SIGKILL — releases it at once, and no stale lock is
//! ever left to clean up. (A PostgreSQL store will use an advisory lock the same way.)

use crate::error::EngineError;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Held while a run may write to targets; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct ApplyLock {
    // Kept open: closing the file releases the lock.
    _file: File,
    path: PathBuf,
}

impl ApplyLock {
    /// Takes the lock for the store at `store_path`, or says that another Muster holds it.
    pub fn acquire(store_path: &Path) -> Result<Self, EngineError> {
        let mut name = store_path.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
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
        let store = dir.path().join("state/muster.db");
        let first = ApplyLock::acquire(&store).unwrap();
        assert!(first.path().ends_with("muster.db.lock"));
        let refused = ApplyLock::acquire(&store).unwrap_err().to_string();
        assert!(refused.contains("another Muster"), "{refused}");
        drop(first);
        assert!(ApplyLock::acquire(&store).is_ok());
    }
}
