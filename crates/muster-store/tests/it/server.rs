//! API tokens (stored by hash, revoked for good) and approve/reject decisions on blocked
//! actions, as `muster serve` keeps them.

use crate::support::{conformance, Backend, TestDb};
use chrono::Utc;
use muster_core::plan::ActionKind;
use muster_store::{ApiToken, DecisionKind, RunMode, StoreError, TokenRole};

fn token(id: &str, hash: &str, role: TokenRole) -> ApiToken {
    ApiToken {
        id: id.to_owned(),
        name: format!("token {id}"),
        role,
        hash: hash.to_owned(),
        created_at: Utc::now(),
        revoked_at: None,
    }
}

async fn a_token_is_found_by_its_hash_until_revoked_and_stays_listed(backend: Backend) {
    let db = TestDb::new(backend).await;
    db.store
        .create_token(&token("a1", "h-one", TokenRole::Viewer))
        .await
        .unwrap();
    db.store
        .create_token(&token("b2", "h-two", TokenRole::Admin))
        .await
        .unwrap();
    let found = db.store.token_by_hash("h-two").await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), found.role), ("b2", TokenRole::Admin));
    assert!(db.store.token_by_hash("h-none").await.unwrap().is_none());

    let revoked = db.store.revoke_token("b2").await.unwrap();
    let at = revoked.revoked_at.expect("revoked");
    let again = db.store.revoke_token("b2").await.unwrap();
    assert_eq!(again.revoked_at, Some(at), "the first revocation stands");
    let found = db.store.token_by_hash("h-two").await.unwrap().unwrap();
    assert_eq!(found.revoked_at, Some(at));
    let ids: Vec<String> = db
        .store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["a1", "b2"]);

    let err = db.store.revoke_token("zz").await.unwrap_err();
    assert!(matches!(err, StoreError::TokenNotFound { .. }), "{err}");
    // The same hash twice is refused: a hash names one token.
    assert!(db
        .store
        .create_token(&token("c3", "h-one", TokenRole::Viewer))
        .await
        .is_err());
    // Only the hash is in the table.
    let raw = db.raw().await;
    let columns = raw.columns("api_tokens").await;
    assert!(columns.contains(&"hash".to_owned()), "{columns:?}");
    assert!(!columns.iter().any(|c| c == "token" || c == "secret"));
}

async fn approving_records_who_and_why_and_releases_the_actions_for_the_next_run(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let zivver = "zivver".into();
    db.store
        .record_blocked(&run, &zivver, ActionKind::Delete, 40, "40 ≥ 10")
        .await
        .unwrap();
    let decided = db
        .store
        .decide(&run, None, DecisionKind::Approved, "ann", "leavers of June")
        .await
        .unwrap();
    assert_eq!(decided.len(), 1);
    assert_eq!(
        (decided[0].decided_by.as_str(), decided[0].reason.as_str()),
        ("ann", "leavers of June")
    );
    let open = db.store.open_approvals(&zivver).await.unwrap();
    assert_eq!(
        (open.len(), open[0].count, open[0].approved_by.as_str()),
        (1, 40, "ann")
    );
    // Approving again is harmless; rejecting now is refused.
    db.store
        .decide(&run, None, DecisionKind::Approved, "bob", "again")
        .await
        .unwrap();
    assert_eq!(db.store.open_approvals(&zivver).await.unwrap().len(), 1);
    let err = db
        .store
        .decide(&run, None, DecisionKind::Rejected, "bob", "no")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::AlreadyDecided {
                decision: DecisionKind::Approved,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(db.store.decisions(&run).await.unwrap(), decided);
}

async fn a_rejection_releases_nothing_and_cannot_be_turned_into_an_approval(backend: Backend) {
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let target = "helloid".into();
    db.store
        .record_blocked(&run, &target, ActionKind::Create, 9, "9 ≥ 5")
        .await
        .unwrap();
    db.store
        .record_blocked(&run, &target, ActionKind::Delete, 3, "3 ≥ 2")
        .await
        .unwrap();
    let err = db
        .store
        .decide(
            &run,
            Some(ActionKind::Update),
            DecisionKind::Rejected,
            "ann",
            "x",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NothingBlocked { .. }), "{err}");
    let rejected = db
        .store
        .decide(
            &run,
            Some(ActionKind::Create),
            DecisionKind::Rejected,
            "ann",
            "wrong file",
        )
        .await
        .unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].decision, DecisionKind::Rejected);
    assert!(db.store.open_approvals(&target).await.unwrap().is_empty());
    let err = db
        .store
        .decide(&run, None, DecisionKind::Approved, "bob", "all")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::AlreadyDecided {
                decision: DecisionKind::Rejected,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        db.store.open_approvals(&target).await.unwrap().is_empty(),
        "nothing approved half-way"
    );
    // A record approved the CLI's way counts as approved.
    db.store
        .approve(&run, Some(ActionKind::Delete), "cli")
        .await
        .unwrap();
    let err = db
        .store
        .decide(
            &run,
            Some(ActionKind::Delete),
            DecisionKind::Rejected,
            "bob",
            "no",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyDecided { .. }), "{err}");
}

async fn the_newest_plan_of_a_target_replaces_the_one_before(backend: Backend) {
    let db = TestDb::new(backend).await;
    let scim = "scim".into();
    assert!(db.store.latest_plan(&scim).await.unwrap().is_none());
    let first = db
        .store
        .start_run(RunMode::Preview, "cfg")
        .await
        .unwrap()
        .id;
    let second = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    db.store
        .save_plan(&first, &scim, &serde_json::json!({"actions": [1]}))
        .await
        .unwrap();
    db.store
        .save_plan(&second, &scim, &serde_json::json!({"actions": [2]}))
        .await
        .unwrap();
    let plan = db.store.latest_plan(&scim).await.unwrap().unwrap();
    assert_eq!(
        (plan.run.as_str(), plan.plan["actions"][0].as_i64()),
        (second.as_str(), Some(2))
    );
    let err = db
        .store
        .save_plan("no-such-run", &scim, &serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::RunNotFound { .. }), "{err}");
}

async fn one_person_is_read_without_reading_everyone(backend: Backend) {
    use muster_store::{Link, LinkState, SnapshotPerson};
    let db = TestDb::new(backend).await;
    let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
    let person = |id: &str| SnapshotPerson {
        external_id: id.into(),
        record_hash: format!("h{id}"),
        record: serde_json::json!({"ExternalId": id}),
    };
    let meta = db
        .store
        .save_snapshot("source", &run, "d", &[person("1"), person("2")], 0)
        .await
        .unwrap();
    let two = db
        .store
        .snapshot_person(meta.id, &"2".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(two, person("2"));
    assert!(db
        .store
        .snapshot_person(meta.id, &"3".into())
        .await
        .unwrap()
        .is_none());
    for (target, person, account) in [
        ("zivver", "1", "z1"),
        ("scim", "1", "s1"),
        ("scim", "2", "s2"),
    ] {
        db.store
            .upsert_link(&Link {
                target: target.into(),
                person: person.into(),
                account: account.into(),
                state: LinkState::Active,
                updated_at: Utc::now(),
            })
            .await
            .unwrap();
    }
    let links = db.store.person_links(&"1".into()).await.unwrap();
    let pairs: Vec<(&str, &str)> = links
        .iter()
        .map(|l| (l.target.as_str(), l.account.as_str()))
        .collect();
    assert_eq!(pairs, [("scim", "s1"), ("zivver", "z1")]);
}

async fn two_opposite_decisions_at_once_leave_exactly_one(backend: Backend) {
    let db = TestDb::new(backend).await;
    let zivver = "zivver".into();
    for round in 0..5 {
        let run = db.store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
        db.store
            .record_blocked(&run, &zivver, ActionKind::Delete, 40, "40 ≥ 10")
            .await
            .unwrap();
        db.store
            .record_blocked(&run, &zivver, ActionKind::Update, 90, "90 ≥ 50")
            .await
            .unwrap();
        let (approved, rejected) = tokio::join!(
            db.store
                .decide(&run, None, DecisionKind::Approved, "ann", "fine"),
            db.store
                .decide(&run, None, DecisionKind::Rejected, "bob", "no"),
        );
        let decisions = db.store.decisions(&run).await.unwrap();
        assert_eq!(decisions.len(), 2, "round {round}: {decisions:?}");
        let winner = decisions[0].decision;
        assert!(
            decisions.iter().all(|d| d.decision == winner),
            "{decisions:?}"
        );
        let (won, lost) = match winner {
            DecisionKind::Approved => (approved, rejected),
            DecisionKind::Rejected => (rejected, approved),
        };
        assert_eq!(won.unwrap().len(), 2);
        assert!(
            matches!(lost, Err(StoreError::AlreadyDecided { .. })),
            "round {round}: {lost:?}"
        );
        let released = db
            .store
            .open_approvals(&zivver)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.run == run)
            .count();
        let expected = if winner == DecisionKind::Approved {
            2
        } else {
            0
        };
        assert_eq!(released, expected, "round {round}");
    }
}

conformance!(
    two_opposite_decisions_at_once_leave_exactly_one,
    a_token_is_found_by_its_hash_until_revoked_and_stays_listed,
    approving_records_who_and_why_and_releases_the_actions_for_the_next_run,
    a_rejection_releases_nothing_and_cannot_be_turned_into_an_approval,
    the_newest_plan_of_a_target_replaces_the_one_before,
    one_person_is_read_without_reading_everyone,
);
