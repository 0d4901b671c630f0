//! Issue 13, item 9: the state store, its lock and saved plans are readable by their owner
//! only, and a store others can read is reported.

use crate::{code, text, Setup, DAY1};

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_store_its_lock_and_plan_files_are_for_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new(|t| t).await;
    let plan = s.path("plan.json");
    let o = s.muster(&["plan", DAY1, "--out", plan.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let o = s.muster(&["apply", "--yes", DAY1]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        !text(&o).contains("readable by other"),
        "a new store is private"
    );
    let mut checked = Vec::new();
    for name in [
        "plan.json",
        "muster.db",
        "muster.db-wal",
        "muster.db-shm",
        "muster.db.lock",
    ] {
        let path = s.path(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name} is {:o}", mode(&path));
            checked.push(name);
        }
    }
    assert!(
        checked.contains(&"plan.json")
            && checked.contains(&"muster.db")
            && checked.contains(&"muster.db.lock"),
        "{checked:?}"
    );

    // A store made readable by others (as earlier versions created it) is reported on stderr.
    std::fs::set_permissions(s.path("muster.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = s.muster(&["plan", DAY1]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("WARN")
            && stderr.contains("muster.db")
            && stderr.contains("readable by other local users (mode 644)"),
        "{stderr}"
    );
    assert_eq!(
        mode(&s.path("muster.db")),
        0o644,
        "reported, never re-moded"
    );
}
