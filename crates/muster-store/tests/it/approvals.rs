//! Threshold blocks, approvals (all, one kind, none matching) and their one-time use.

use crate::support::{conformance, Backend, TestDb};
use muster_core::plan::ActionKind;
use muster_store::{RunMode, StoreError};

async fn blocked_records_are_listed_and_recording_again_replaces_them(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .record_blocked(
            &run,
            &"zivver".into(),
            ActionKind::Delete,
            40,
            "40 ≥ 10% of 300",
        )
        .await
        .unwrap();
    db.store
        .record_blocked(&run, &"helloid".into(), ActionKind::Create, 9, "9 ≥ 5")
        .await
        .unwrap();
    db.store
        .record_blocked(
            &run,
            &"zivver".into(),
            ActionKind::Delete,
            41,
            "41 ≥ 10% of 300",
        )
        .await
        .unwrap();

    let blocked = db.store.blocked(&run).await.unwrap();
    let rows: Vec<_> = blocked
        .iter()
        .map(|b| (b.target.as_str(), b.kind, b.count, b.reason.as_str()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("helloid", ActionKind::Create, 9, "9 ≥ 5"),
            ("zivver", ActionKind::Delete, 41, "41 ≥ 10% of 300"),
        ]
    );
    assert!(blocked.iter().all(|b| b.run == run));

    let other = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    assert!(db.store.blocked(&other).await.unwrap().is_empty());
    let unknown = db
        .store
        .record_blocked(
            "00000000-0000-4000-8000-000000000000",
            &"zivver".into(),
            ActionKind::Delete,
            1,
            "x",
        )
        .await;
    assert!(
        matches!(unknown, Err(StoreError::RunNotFound { .. })),
        "{unknown:?}"
    );
}

async fn approving_one_kind_leaves_the_others_blocked(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .record_blocked(&run, &"zivver".into(), ActionKind::Delete, 40, "r")
        .await
        .unwrap();
    db.store
        .record_blocked(&run, &"zivver".into(), ActionKind::Update, 500, "r")
        .await
        .unwrap();
    db.store
        .record_blocked(&run, &"scim".into(), ActionKind::Delete, 7, "r")
        .await
        .unwrap();

    let approved = db
        .store
        .approve(&run, Some(ActionKind::Delete), "alice")
        .await
        .unwrap();
    let got: Vec<_> = approved
        .iter()
        .map(|a| (a.target.as_str(), a.kind, a.count))
        .collect();
    assert_eq!(
        got,
        vec![
            ("zivver", ActionKind::Delete, 40),
            ("scim", ActionKind::Delete, 7)
        ]
    );
    assert!(approved
        .iter()
        .all(|a| a.approved_by == "alice" && a.run == run && a.consumed_by.is_none()));

    let open = db.store.open_approvals(&"zivver".into()).await.unwrap();
    assert_eq!(
        open.iter().map(|a| a.kind).collect::<Vec<_>>(),
        vec![ActionKind::Delete]
    );
}

async fn approving_all_covers_every_kind_and_approving_again_changes_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .record_blocked(&run, &"zivver".into(), ActionKind::Delete, 40, "r")
        .await
        .unwrap();
    db.store
        .record_blocked(&run, &"zivver".into(), ActionKind::Update, 500, "r")
        .await
        .unwrap();

    let first = db
        .store
        .approve(&run, Some(ActionKind::Update), "alice")
        .await
        .unwrap();
    let all = db.store.approve(&run, None, "bob").await.unwrap();
    assert_eq!(all.len(), 2);
    // The update was approved before: the same approval, still alice's.
    let update = all
        .iter()
        .find(|a| a.kind == ActionKind::Update)
        .expect("update approval");
    assert_eq!(update, &first[0]);
    let delete = all
        .iter()
        .find(|a| a.kind == ActionKind::Delete)
        .expect("delete approval");
    assert_eq!(delete.approved_by, "bob");

    let again = db.store.approve(&run, None, "carol").await.unwrap();
    assert_eq!(again, all);
    assert_eq!(
        db.store
            .open_approvals(&"zivver".into())
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn approving_nothing_matching_is_an_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let none = db.store.approve(&run, None, "alice").await;
    assert!(
        matches!(none, Err(StoreError::NothingToApprove { kind: None, .. })),
        "{none:?}"
    );

    db.store
        .record_blocked(&run, &"zivver".into(), ActionKind::Delete, 40, "r")
        .await
        .unwrap();
    let wrong_kind = db
        .store
        .approve(&run, Some(ActionKind::Create), "alice")
        .await;
    assert!(
        matches!(
            wrong_kind,
            Err(StoreError::NothingToApprove {
                kind: Some(ActionKind::Create),
                ..
            })
        ),
        "{wrong_kind:?}"
    );
    assert!(db
        .store
        .open_approvals(&"zivver".into())
        .await
        .unwrap()
        .is_empty());
}

async fn an_approval_is_consumed_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .record_blocked(&run, &"zivver".into(), ActionKind::Delete, 40, "r")
        .await
        .unwrap();
    let approval = db
        .store
        .approve(&run, None, "alice")
        .await
        .unwrap()
        .remove(0);

    let next = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store.consume_approval(approval.id, &next).await.unwrap();
    assert!(db
        .store
        .open_approvals(&"zivver".into())
        .await
        .unwrap()
        .is_empty());

    let third = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let twice = db.store.consume_approval(approval.id, &third).await;
    assert!(
        matches!(twice, Err(StoreError::ApprovalConsumed { ref by, .. }) if *by == next),
        "{twice:?}"
    );

    let missing = db.store.consume_approval(approval.id + 100, &third).await;
    assert!(
        matches!(missing, Err(StoreError::ApprovalNotFound { .. })),
        "{missing:?}"
    );

    // The consumed approval is still listed, with who used it.
    let listed = db.store.approve(&run, None, "bob").await.unwrap();
    assert_eq!(listed[0].consumed_by.as_deref(), Some(next.as_str()));
}

async fn an_approval_is_consumed_only_by_a_known_run(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .record_blocked(&run, &"zivver".into(), ActionKind::Delete, 40, "r")
        .await
        .unwrap();
    let approval = db
        .store
        .approve(&run, None, "alice")
        .await
        .unwrap()
        .remove(0);
    let err = db
        .store
        .consume_approval(approval.id, "00000000-0000-4000-8000-000000000000")
        .await;
    assert!(
        matches!(err, Err(StoreError::RunNotFound { .. })),
        "{err:?}"
    );
    assert_eq!(
        db.store
            .open_approvals(&"zivver".into())
            .await
            .unwrap()
            .len(),
        1
    );
}

conformance!(
    blocked_records_are_listed_and_recording_again_replaces_them,
    approving_one_kind_leaves_the_others_blocked,
    approving_all_covers_every_kind_and_approving_again_changes_nothing,
    approving_nothing_matching_is_an_error,
    an_approval_is_consumed_once,
    an_approval_is_consumed_only_by_a_known_run,
);
