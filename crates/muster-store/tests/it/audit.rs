//! Audit events: filters, order, and secrets that never reach the disk.

use crate::support::{at, conformance, contains, Backend, TestDb};
use muster_core::plan::{ActionKind, FieldChange, PermissionTarget};
use muster_core::report::{ActionOutcome, AuditEvent};
use muster_store::AuditQuery;
use serde_json::json;

fn event(minute: u32, run: &str, target: &str, person: &str) -> AuditEvent {
    AuditEvent {
        at: at(12, minute),
        run: run.into(),
        target: target.into(),
        person: person.into(),
        action: ActionKind::Update,
        outcome: ActionOutcome::Done,
        account: Some(format!("acc-{person}").into()),
        reason: "department changed".to_owned(),
        detail: None,
        changes: vec![FieldChange {
            field: "department".to_owned(),
            before: Some(json!("Maths")),
            after: Some(json!("Physics")),
            secret: false,
            account_of: None,
        }],
        permission: None,
    }
}

fn minutes(events: &[AuditEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("{} {} {}", e.at.format("%M"), e.target, e.person))
        .collect()
}

async fn seeded(backend: Backend) -> TestDb {
    let db = TestDb::new(backend).await;
    // Appended out of time order, in two batches.
    db.store
        .append_audit(&[
            event(3, "run-b", "zivver", "p1"),
            event(1, "run-a", "zivver", "p1"),
            event(2, "run-a", "helloid", "p2"),
        ])
        .await
        .unwrap();
    db.store
        .append_audit(&[
            event(4, "run-b", "helloid", "p1"),
            event(0, "run-a", "zivver", "p2"),
        ])
        .await
        .unwrap();
    db
}

async fn events_come_back_whole_and_oldest_first(backend: Backend) {
    let db = seeded(backend).await;
    let mut granted = event(9, "run-c", "zivver", "p3");
    granted.action = ActionKind::Grant;
    granted.outcome = ActionOutcome::Failed;
    granted.detail = Some("404 group not found".to_owned());
    granted.changes.clear();
    granted.account = None;
    granted.permission = Some(PermissionTarget {
        name: "Teachers".to_owned(),
        group: Some("g-1".into()),
    });
    db.store
        .append_audit(std::slice::from_ref(&granted))
        .await
        .unwrap();

    let all = db.store.audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(
        minutes(&all),
        [
            "00 zivver p2",
            "01 zivver p1",
            "02 helloid p2",
            "03 zivver p1",
            "04 helloid p1",
            "09 zivver p3"
        ]
    );
    assert_eq!(all[1], event(1, "run-a", "zivver", "p1"));
    assert_eq!(all[5], granted);
}

async fn events_are_filtered_by_person_target_since_and_run(backend: Backend) {
    let db = seeded(backend).await;
    let q = |f: &dyn Fn(&mut AuditQuery)| {
        let mut query = AuditQuery::default();
        f(&mut query);
        query
    };
    let by_person = db
        .store
        .audit(&q(&|q| q.person = Some("p1".into())))
        .await
        .unwrap();
    assert_eq!(
        minutes(&by_person),
        ["01 zivver p1", "03 zivver p1", "04 helloid p1"]
    );

    let by_target = db
        .store
        .audit(&q(&|q| q.target = Some("helloid".into())))
        .await
        .unwrap();
    assert_eq!(minutes(&by_target), ["02 helloid p2", "04 helloid p1"]);

    let since = db
        .store
        .audit(&q(&|q| q.since = Some(at(12, 2))))
        .await
        .unwrap();
    assert_eq!(
        minutes(&since),
        ["02 helloid p2", "03 zivver p1", "04 helloid p1"]
    );

    let by_run = db
        .store
        .audit(&q(&|q| q.run = Some("run-a".into())))
        .await
        .unwrap();
    assert_eq!(
        minutes(&by_run),
        ["00 zivver p2", "01 zivver p1", "02 helloid p2"]
    );

    let combined = db
        .store
        .audit(&q(&|q| {
            q.person = Some("p1".into());
            q.target = Some("zivver".into());
            q.since = Some(at(12, 2));
        }))
        .await
        .unwrap();
    assert_eq!(minutes(&combined), ["03 zivver p1"]);

    let limited = db.store.audit(&q(&|q| q.limit = 2)).await.unwrap();
    assert_eq!(minutes(&limited), ["00 zivver p2", "01 zivver p1"]);

    let nobody = db
        .store
        .audit(&q(&|q| q.person = Some("p9".into())))
        .await
        .unwrap();
    assert!(nobody.is_empty());
}

async fn events_are_filtered_by_action_outcome_and_until(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut failed_create = event(5, "run-c", "zivver", "p3");
    failed_create.action = ActionKind::Create;
    failed_create.outcome = ActionOutcome::Failed;
    db.store
        .append_audit(&[
            event(1, "run-c", "zivver", "p1"),
            failed_create,
            event(7, "run-c", "zivver", "p2"),
        ])
        .await
        .unwrap();
    let query = |f: &dyn Fn(&mut AuditQuery)| {
        let mut query = AuditQuery::default();
        f(&mut query);
        query
    };
    let creates = db
        .store
        .audit(&query(&|q| q.action = Some(ActionKind::Create)))
        .await
        .unwrap();
    assert_eq!(minutes(&creates), ["05 zivver p3"]);
    let done = db
        .store
        .audit(&query(&|q| q.outcome = Some(ActionOutcome::Done)))
        .await
        .unwrap();
    assert_eq!(minutes(&done), ["01 zivver p1", "07 zivver p2"]);
    let before = db
        .store
        .audit(&query(&|q| q.until = Some(at(12, 7))))
        .await
        .unwrap();
    assert_eq!(minutes(&before), ["01 zivver p1", "05 zivver p3"]);
}

async fn a_secret_change_never_reaches_the_database_file(backend: Backend) {
    const SECRET: &str = "sso-key-0f9e8d7c6b5a";
    const VISIBLE: &str = "visible-marker-3a1b";
    let db = TestDb::new(backend).await;
    let mut e = event(0, "run-a", "zivver", "p1");
    e.changes = vec![
        FieldChange {
            field: "SsoAccountKey".to_owned(),
            before: Some(json!(format!("{SECRET}-old"))),
            after: Some(json!(SECRET)),
            secret: true,
            account_of: None,
        },
        FieldChange {
            field: "title".to_owned(),
            before: None,
            after: Some(json!(VISIBLE)),
            secret: false,
            account_of: None,
        },
    ];
    db.store.append_audit(&[e]).await.unwrap();

    let stored = db.store.audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(stored[0].changes[0].after, Some(json!("***")));
    assert!(stored[0].changes[0].secret);
    assert_eq!(stored[0].changes[1].after, Some(json!(VISIBLE)));

    let bytes = db.everything_stored().await;
    // The non-secret value is found, so the search itself works.
    assert!(
        contains(&bytes, VISIBLE),
        "the file check cannot see stored text"
    );
    assert!(
        !contains(&bytes, SECRET),
        "a secret value was written to the database file"
    );
}

async fn an_unknown_outcome_read_back_is_corrupt(backend: Backend) {
    let db = seeded(backend).await;
    db.raw()
        .await
        .exec("UPDATE audit SET outcome = 'maybe' WHERE person = 'p2'")
        .await
        .unwrap();
    let err = db.store.audit(&AuditQuery::default()).await;
    assert!(
        matches!(
            err,
            Err(muster_store::StoreError::Corrupt {
                table: "audit",
                column: "outcome",
                ..
            })
        ),
        "{err:?}"
    );
}

async fn a_persons_newest_events_come_from_the_newest_end_oldest_first(backend: Backend) {
    let db = seeded(backend).await;
    let p1 = muster_core::ExternalId::from("p1");
    let newest = db.store.person_audit(&p1, 2).await.unwrap();
    assert_eq!(minutes(&newest), ["03 zivver p1", "04 helloid p1"]);
    let all = db.store.person_audit(&p1, 100).await.unwrap();
    assert_eq!(
        minutes(&all),
        ["01 zivver p1", "03 zivver p1", "04 helloid p1"]
    );
    let nobody = muster_core::ExternalId::from("nobody");
    assert!(db.store.person_audit(&nobody, 10).await.unwrap().is_empty());
}

conformance!(
    events_come_back_whole_and_oldest_first,
    events_are_filtered_by_person_target_since_and_run,
    events_are_filtered_by_action_outcome_and_until,
    a_secret_change_never_reaches_the_database_file,
    an_unknown_outcome_read_back_is_corrupt,
    a_persons_newest_events_come_from_the_newest_end_oldest_first,
);
