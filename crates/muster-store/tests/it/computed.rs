//! Mapping-script results kept between processes: loaded, replaced and updated per target.

use crate::support::{conformance, Backend, TestDb};
use muster_core::TargetName;
use muster_store::{ComputedChanges, ComputedEntry, ComputedKey, ComputedValues};
use serde_json::json;
use std::time::Instant;

fn key(person: u32, iteration: u32) -> ComputedKey {
    let mut person_digest = [0u8; 16];
    person_digest[..4].copy_from_slice(&person.to_le_bytes());
    person_digest[15] = 0xff;
    ComputedKey {
        person_digest,
        iteration,
    }
}

fn value(person: u32, iteration: u32, v: serde_json::Value) -> ComputedEntry {
    ComputedEntry {
        key: key(person, iteration),
        outcome: Ok(Some(v)),
    }
}

fn script(field: &str, digest: &str, mut values: Vec<ComputedEntry>) -> ComputedValues {
    values.sort_by_key(|e| e.key.person_digest);
    ComputedValues {
        field: field.into(),
        mapping_digest: digest.into(),
        values,
    }
}

/// The target's values, each script's in a fixed order, to compare with what was written.
async fn load(db: &TestDb, target: &str) -> Vec<ComputedValues> {
    let mut scripts = db.store.computed_values(&target.into()).await.unwrap();
    for s in &mut scripts {
        s.values
            .sort_by_key(|e| (e.key.person_digest, e.key.iteration));
    }
    scripts
}

async fn values_failures_and_absent_values_round_trip_per_target(backend: Backend) {
    let mut db = TestDb::new(backend).await;
    let mail = script(
        "mail",
        "d-mail",
        vec![
            value(1, 0, json!("jan@example.org")),
            value(1, 1, json!("jan1@example.org")),
            ComputedEntry {
                key: key(2, 0),
                outcome: Ok(None),
            },
            ComputedEntry {
                key: key(3, 0),
                outcome: Err("script line 3: TypeError: not a function".into()),
            },
        ],
    );
    let aliases = script(
        "aliases",
        "d-aliases",
        vec![value(1, 0, json!(["a@x", "b@x"]))],
    );
    let zivver: TargetName = "zivver".into();
    db.store
        .replace_computed_values(&zivver, &[mail.clone(), aliases.clone()])
        .await
        .unwrap();
    db.store
        .replace_computed_values(
            &"helloid".into(),
            &[script("mail", "d-mail", vec![value(9, 0, json!("other"))])],
        )
        .await
        .unwrap();

    db.reopen().await;
    assert_eq!(load(&db, "zivver").await, vec![aliases, mail]);
    assert_eq!(load(&db, "helloid").await[0].values.len(), 1);
    assert!(load(&db, "scim").await.is_empty());
}

async fn replacing_drops_every_value_and_script_not_given(backend: Backend) {
    let db = TestDb::new(backend).await;
    let t: TargetName = "zivver".into();
    db.store
        .replace_computed_values(
            &t,
            &[
                script(
                    "mail",
                    "old",
                    vec![value(1, 0, json!("a")), value(2, 0, json!("b"))],
                ),
                script("name", "n", vec![value(1, 0, json!("A"))]),
            ],
        )
        .await
        .unwrap();
    let other: TargetName = "helloid".into();
    db.store
        .replace_computed_values(
            &other,
            &[script("mail", "old", vec![value(1, 0, json!("a"))])],
        )
        .await
        .unwrap();

    let now = script("mail", "new", vec![value(2, 0, json!("B"))]);
    db.store
        .replace_computed_values(&t, std::slice::from_ref(&now))
        .await
        .unwrap();
    assert_eq!(load(&db, "zivver").await, vec![now]);
    assert_eq!(
        load(&db, "helloid").await.len(),
        1,
        "other targets keep theirs"
    );

    db.store.replace_computed_values(&t, &[]).await.unwrap();
    assert!(load(&db, "zivver").await.is_empty());
    let raw = db.raw().await;
    let rows = raw.count("SELECT count(*) FROM computed_values").await;
    assert_eq!(rows, 1, "only the other target's value is left");
}

async fn updates_add_replace_and_remove_and_drop_unlisted_scripts(backend: Backend) {
    let db = TestDb::new(backend).await;
    let t: TargetName = "zivver".into();
    db.store
        .replace_computed_values(
            &t,
            &[
                script(
                    "mail",
                    "m",
                    vec![
                        value(1, 0, json!("a")),
                        value(2, 0, json!("b")),
                        value(3, 0, json!("c")),
                    ],
                ),
                script("name", "old", vec![value(1, 0, json!("A"))]),
                script("upn", "u", vec![value(1, 0, json!("u1"))]),
            ],
        )
        .await
        .unwrap();
    db.store
        .update_computed_values(
            &t,
            &[
                ComputedChanges {
                    field: "mail".into(),
                    mapping_digest: "m".into(),
                    removed: vec![key(2, 0), key(7, 0)],
                    added: vec![value(3, 0, json!("c2")), value(4, 1, json!("d1"))],
                },
                // A changed script: the old digest's values go, the new one starts.
                ComputedChanges {
                    field: "name".into(),
                    mapping_digest: "new".into(),
                    removed: vec![],
                    added: vec![value(1, 0, json!("Anna"))],
                },
                // Listed without changes: kept as it is.
                ComputedChanges {
                    field: "upn".into(),
                    mapping_digest: "u".into(),
                    ..ComputedChanges::default()
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        load(&db, "zivver").await,
        vec![
            script(
                "mail",
                "m",
                vec![
                    value(1, 0, json!("a")),
                    value(3, 0, json!("c2")),
                    value(4, 1, json!("d1")),
                ]
            ),
            script("name", "new", vec![value(1, 0, json!("Anna"))]),
            script("upn", "u", vec![value(1, 0, json!("u1"))]),
        ]
    );

    // No script left (the mapping file lost its last Complex field).
    db.store.update_computed_values(&t, &[]).await.unwrap();
    assert!(load(&db, "zivver").await.is_empty());
}

async fn unreadable_rows_are_corrupt_not_a_panic(backend: Backend) {
    let db = TestDb::new(backend).await;
    let t: TargetName = "zivver".into();
    db.store
        .replace_computed_values(&t, &[script("mail", "m", vec![value(1, 0, json!("a"))])])
        .await
        .unwrap();
    let raw = db.raw().await;
    let one_byte = match db.backend() {
        Backend::Sqlite => "x'00'",
        Backend::Postgres => "'\\x00'::BYTEA",
    };
    raw.exec(&format!(
        "UPDATE computed_values SET person_digest = {one_byte}"
    ))
    .await
    .unwrap();
    let e = db.store.computed_values(&t).await.unwrap_err().to_string();
    assert!(
        e.contains("computed_values.person_digest") && e.contains("is not 16 bytes"),
        "{e}"
    );
}

/// 100,000 persons × 4 scripts, written whole, read back, then 1 % changed. Prints the times
/// (for docs/BENCHMARKS.md; run with `--release -- --ignored --nocapture bulk`); asserts only
/// the contents.
#[tokio::test]
#[ignore = "a measurement, not a test: seconds in a debug build"]
async fn bulk_writes_and_reads_400_000_values_sqlite() {
    bulk_writes_and_reads_400_000_values(Backend::Sqlite).await
}

#[tokio::test]
#[ignore = "a measurement, not a test: seconds in a debug build"]
async fn bulk_writes_and_reads_400_000_values_postgres() {
    if crate::support::postgres_available() {
        bulk_writes_and_reads_400_000_values(Backend::Postgres).await
    }
}

async fn bulk_writes_and_reads_400_000_values(backend: Backend) {
    const PERSONS: u32 = 100_000;
    let db = TestDb::new(backend).await;
    let t: TargetName = "helloid".into();
    let fields = ["displayName", "mail", "userPrincipalName", "startDate"];
    let scripts: Vec<ComputedValues> = fields
        .iter()
        .map(|f| ComputedValues {
            field: (*f).into(),
            mapping_digest: format!("{f:0>32}"),
            values: (0..PERSONS)
                .map(|p| value(p, 0, json!(format!("{f}-value-of-person-{p}"))))
                .collect(),
        })
        .collect();
    let started = Instant::now();
    db.store
        .replace_computed_values(&t, &scripts)
        .await
        .unwrap();
    println!("replace 400,000 values: {:?}", started.elapsed());

    let started = Instant::now();
    let loaded = db.store.computed_values(&t).await.unwrap();
    println!("load 400,000 values:    {:?}", started.elapsed());
    assert_eq!(
        loaded.iter().map(|s| s.values.len()).sum::<usize>(),
        400_000
    );

    let changes: Vec<ComputedChanges> = fields
        .iter()
        .map(|f| ComputedChanges {
            field: (*f).into(),
            mapping_digest: format!("{f:0>32}"),
            removed: (0..PERSONS).step_by(100).map(|p| key(p, 0)).collect(),
            added: (0..PERSONS)
                .step_by(100)
                .map(|p| value(p + PERSONS, 0, json!("changed")))
                .collect(),
        })
        .collect();
    let started = Instant::now();
    db.store.update_computed_values(&t, &changes).await.unwrap();
    println!("update 1 % (8,000 rows): {:?}", started.elapsed());
    let loaded = db.store.computed_values(&t).await.unwrap();
    assert_eq!(
        loaded.iter().map(|s| s.values.len()).sum::<usize>(),
        400_000
    );
}

conformance!(
    values_failures_and_absent_values_round_trip_per_target,
    replacing_drops_every_value_and_script_not_given,
    updates_add_replace_and_remove_and_drop_unlisted_scripts,
    unreadable_rows_are_corrupt_not_a_panic,
);
