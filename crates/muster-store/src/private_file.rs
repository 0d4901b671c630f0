//! Files that hold what only Muster's own user may read: the state store (names, addresses,
//! the audit trail and the fingerprint key) with its WAL, shared-memory and lock files, saved
//! plans and log files. Each is created with mode 0600 (owner read and write), whatever the
//! umask; an existing store that others can read is reported, never silently re-moded (its
//! owner may have a reason, and decides).
//!
//! SQLite creates a database's `-wal` and `-shm` files with the mode of the database file, so
//! creating the database 0600 ([`create_store_file`]) makes them 0600 too.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Owner read and write, nothing for group and others.
pub const MODE: u32 = 0o600;

/// Creates (or empties) `path` for writing, 0600 when it is new.
pub fn create(path: &Path) -> io::Result<File> {
    options().write(true).create(true).truncate(true).open(path)
}

/// Opens `path` for appending, creating it 0600 when missing.
pub fn append(path: &Path) -> io::Result<File> {
    options().append(true).create(true).open(path)
}

/// Opens `path` for writing without truncating it, creating it 0600 when missing (a lock file).
pub fn open_or_create(path: &Path) -> io::Result<File> {
    options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Creates the store file 0600 when it does not exist yet, before SQLite opens it; an
/// existing one is left as it is.
pub fn create_store_file(path: &Path) -> io::Result<()> {
    match options().write(true).create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The permission bits of `path` that let its group or other users read or write it, when
/// there are any (Unix only; elsewhere `None`).
pub fn readable_by_others(path: &Path) -> io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        Ok((mode & 0o077 != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(None)
    }
}

fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(MODE);
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_for_the_owner_only_and_readable_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("plan.json");
        create(&plan).unwrap();
        append(&dir.path().join("muster.log")).unwrap();
        open_or_create(&dir.path().join("muster.db.lock")).unwrap();
        create_store_file(&dir.path().join("muster.db")).unwrap();
        for f in ["plan.json", "muster.log", "muster.db.lock", "muster.db"] {
            assert_eq!(mode(&dir.path().join(f)), 0o600, "{f}");
            assert_eq!(readable_by_others(&dir.path().join(f)).unwrap(), None);
        }
        std::fs::set_permissions(&plan, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(readable_by_others(&plan).unwrap(), Some(0o640));
        create_store_file(&plan).unwrap();
        assert_eq!(mode(&plan), 0o640, "an existing file keeps its mode");
    }
}
