//! Orphan decisions (`muster reconcile`): one per target and account, replaced, forgotten, and
//! refused by the schema when an exclusion has no end.

use crate::support::{at, conformance, Backend, TestDb};
use chrono::NaiveDate;
use muster_core::TargetName;
use muster_store::{OrphanDecision, OrphanVerdict, StoreError};

fn decision(target: &str, account: &str, verdict: OrphanVerdict, minute: u32) -> OrphanDecision {
    OrphanDecision {
        target: target.into(),
        account: account.into(),
        verdict,
        decided_by: "admin".into(),
        decided_at: at(9, minute),
    }
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

async fn decisions_are_kept_per_target_and_account_and_a_new_one_replaces_the_old(
    backend: Backend,
) {
    let mut db = TestDb::new(backend).await;
    let scim: TargetName = "scim".into();
    let excluded = decision(
        "scim",
        "acc-2",
        OrphanVerdict::ExcludedUntil(day("2026-03-01")),
        0,
    );
    db.store.decide_orphan(&excluded).await.unwrap();
    let resolved = decision("scim", "acc-1", OrphanVerdict::Resolved, 1);
    db.store.decide_orphan(&resolved).await.unwrap();
    let other = decision("zivver", "acc-1", OrphanVerdict::Delete, 2);
    db.store.decide_orphan(&other).await.unwrap();
    assert_eq!(
        db.store.orphan_decisions(&scim).await.unwrap(),
        vec![resolved, excluded]
    );

    let delete = decision("scim", "acc-2", OrphanVerdict::Delete, 3);
    db.store.decide_orphan(&delete).await.unwrap();
    db.reopen().await;
    let kept = db.store.orphan_decisions(&scim).await.unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1], delete);

    db.store
        .forget_orphan_decision(&scim, &"acc-2".into())
        .await
        .unwrap();
    db.store
        .forget_orphan_decision(&scim, &"acc-2".into())
        .await
        .unwrap();
    assert_eq!(db.store.orphan_decisions(&scim).await.unwrap().len(), 1);
    assert_eq!(
        db.store.orphan_decisions(&"zivver".into()).await.unwrap(),
        vec![other]
    );
}

async fn an_exclusion_without_an_end_is_refused_and_reported_as_corrupt(backend: Backend) {
    let db = TestDb::new(backend).await;
    let raw = db.raw().await;
    let refused = raw
        .exec(
            "INSERT INTO orphan_decisions \
             (target, account, decision, until, decided_by, decided_at) \
             VALUES ('scim', 'a', 'excluded', NULL, 'x', '2024-05-01T09:00:00.000000Z')",
        )
        .await;
    assert!(refused.is_err(), "the schema must refuse it");
    let no_date = raw
        .exec(
            "INSERT INTO orphan_decisions \
             (target, account, decision, until, decided_by, decided_at) \
             VALUES ('scim', 'a', 'excluded', 'soon', 'x', '2024-05-01T09:00:00.000000Z')",
        )
        .await;
    if db.backend() == Backend::Postgres {
        // `until` is a DATE there: a day that is no date cannot be stored at all.
        assert!(no_date.is_err(), "{no_date:?}");
        return;
    }
    no_date.unwrap();
    let err = db.store.orphan_decisions(&"scim".into()).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                table: "orphan_decisions",
                column: "until",
                ..
            }
        ),
        "{err}"
    );
}

conformance!(
    decisions_are_kept_per_target_and_account_and_a_new_one_replaces_the_old,
    an_exclusion_without_an_end_is_refused_and_reported_as_corrupt,
);
