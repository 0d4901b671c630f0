//! `muster demo cloud-sync`, as the README runs it: the example tenant into Zivver through the
//! real engine, and what the administrator reads at each step.

use super::{code, text};
use std::process::{Command, Stdio};

/// Whether a table row with exactly these cells (split on whitespace) is in `out`.
fn has_row(out: &str, cells: &[&str]) -> bool {
    out.lines()
        .any(|l| l.split_whitespace().eq(cells.iter().copied()))
}

/// The part of `out` from the heading of step `n` to the next heading.
fn step(out: &str, n: u32) -> &str {
    let start = out
        .find(&format!("== {n}. "))
        .unwrap_or_else(|| panic!("no step {n} in:\n{out}"));
    let rest = &out[start..];
    let end = rest[3..].find("\n== ").map_or(rest.len(), |e| e + 3);
    &rest[..end]
}

#[test]
fn the_cloud_sync_demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cloud-sync");
    let o = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["demo", "cloud-sync", "--dir"])
        .arg(&folder)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");

    // 1. Preview: the fail-safe's reason, the filters, nothing written.
    let preview = step(&out, 1);
    for line in [
        "zivver: BLOCKED by the all-or-nothing (281 action(s)): 281 of 282 accounts would change, more than 10%",
        "ran in preview mode: nothing was written",
        "\"piet@contoso.com\" is outside this target's domains (contoso.nl, contoso.be): not created",
        "\"beheer@contoso.nl\" is in this target's leave_alone accounts: never touched",
        "skipped: a deleted principal",
        "Zivver now holds 0 user accounts (0 suspended) and 0 functional accounts with 0 delegations: nothing was written",
    ] {
        assert!(preview.contains(line), "missing `{line}` in:\n{preview}");
    }

    // 2. The first load, released for that run: every mailbox but the filtered two.
    let first = step(&out, 2);
    assert!(
        has_row(first, &["zivver", "create", "281", "281", "0", "0", "0"]),
        "{first}"
    );
    assert!(
        first.contains("all-or-nothing released for this run by `--allow-large`: 281 of 282"),
        "{first}"
    );
    assert!(
        first.contains(
            "Zivver now holds 241 user accounts (9 suspended) and 40 functional accounts"
        ),
        "{first}"
    );
    assert!(
        first.contains("(the target filter) are as they were"),
        "{first}"
    );

    // 3. The day: a small plan (a rename is an update, not a leaver and a hire), applied.
    let day = step(&out, 3);
    let planned = &day[day.find("$ muster plan").unwrap()..day.find("$ muster apply").unwrap()];
    for row in [
        ["zivver", "create", "1", "0", "0", "0", "0"],
        ["zivver", "update", "5", "0", "0", "0", "0"],
        ["zivver", "disable", "1", "0", "0", "0", "0"],
    ] {
        assert!(has_row(planned, &row), "missing {row:?} in:\n{planned}");
    }
    let rename = planned
        .lines()
        .find(|l| l.contains("00000000-0000-4000-8000-000000000012"))
        .expect("the renamed mailbox is planned");
    assert!(
        rename.contains("update") && rename.contains("userName"),
        "{rename}"
    );
    assert!(
        planned
            .lines()
            .any(|l| l.contains("00000000-0000-4000-9000-000000000001") && l.contains("delegates")),
        "Full Access through a group is a delegates change:\n{planned}"
    );
    assert!(
        day.contains("renamed: Zivver account ")
            && day.contains("kept, userName user00012@contoso.nl → jan.devries@contoso.nl"),
        "{day}"
    );
    assert!(
        day.contains("Zivver now holds 241 user accounts (10 suspended) and 41 functional accounts with 192 delegations"),
        "{day}"
    );

    // 4 and 5. The mass change is refused with its reason, then approved and carried out.
    let mass = step(&out, 4);
    assert!(
        mass.contains("zivver: BLOCKED by the all-or-nothing (76 action(s)): 76 of 283 accounts would change, more than 10%")
            && has_row(mass, &["zivver", "disable", "76", "0", "0", "76", "0"])
            && mass.contains("Nothing was written: Zivver now holds 241 user accounts (10 suspended)"),
        "{mass}"
    );
    let release = step(&out, 5);
    assert!(
        release.contains("approved: zivver delete × 76")
            && has_row(release, &["zivver", "disable", "76", "76", "0", "0", "0"])
            && release.contains("all-or-nothing released by an approval")
            && release.contains("Zivver now holds 241 user accounts (86 suspended)"),
        "{release}"
    );
    assert!(
        step(&out, 6).contains("$ muster plan\nNo changes."),
        "{out}"
    );

    // The demo's secret is in a file of its folder, never in what it prints.
    let secret = std::fs::read_to_string(folder.join("api-token")).unwrap();
    assert!(!secret.is_empty() && !out.contains(&secret), "{out}");
    assert!(folder.join("muster.db").exists());
}
