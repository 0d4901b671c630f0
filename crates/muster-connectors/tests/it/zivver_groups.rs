//! The Zivver connector's memberships against the simulator: per-group lanes that batch
//! concurrent grants and revokes into few whole-list PATCHes without losing any, `add-remove`
//! mode, and the rate limit (a storm of 429s slows a run but fails nothing).

use super::zivver_users::{
    attrs, created, exec, harness, members, seed_group, seed_user, Harness, ZIVVER,
};
use muster_connectors::zivver::wire::SSO_ACCOUNT_KEY;
use muster_core::connector::{Connector, ConnectorError, Operation, Outcome};
use muster_core::{AccountRef, GroupRef};
use serde_json::json;
use std::time::{Duration, Instant};

fn grant(account: &AccountRef, group: &GroupRef) -> Operation {
    Operation::Grant {
        account: account.clone(),
        group: group.clone(),
    }
}

fn revoke(account: &AccountRef, group: &GroupRef) -> Operation {
    Operation::Revoke {
        account: account.clone(),
        group: group.clone(),
    }
}

/// Runs every operation at once, each in its own task (as the engine's workers do), and
/// returns the results in the operations' order.
async fn all_at_once(h: &Harness, ops: Vec<Operation>) -> Vec<Result<Outcome, ConnectorError>> {
    let tasks: Vec<_> = ops
        .into_iter()
        .map(|op| {
            let conn = h.conn.clone();
            tokio::spawn(async move { conn.execute(&op).await })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("task ends"));
    }
    out
}

fn users(h: &Harness, prefix: &str, n: usize) -> Vec<AccountRef> {
    (0..n)
        .map(|i| seed_user(h, &format!("{prefix}{i}@example.org"), json!({})))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_grants_into_one_group_all_land_in_few_patches() {
    let h = harness(|s| s.faults.latency_ms = 2, "").await;
    let existing = seed_user(&h, "existing@example.org", json!({}));
    let group = seed_group(&h, "Secretariaat", &[&existing]);
    let people = users(&h, "p", 50);

    let results = all_at_once(&h, people.iter().map(|p| grant(p, &group)).collect()).await;
    for (p, r) in people.iter().zip(&results) {
        assert_eq!(r.as_ref().ok(), Some(&Outcome::Done), "{p}: {r:?}");
    }
    let now = members(&h, &group);
    assert_eq!(now.len(), 51);
    // Existing order kept, new members after it.
    assert_eq!(now[0], existing.as_str());
    for p in &people {
        assert!(now.contains(&p.as_str().to_owned()), "{p} missing");
    }
    let patches = h.sim.state.request_count("PATCH", "/Groups");
    assert!(
        (1..=10).contains(&patches),
        "{patches} PATCHes for 50 grants"
    );
    // One fresh read per PATCH, never more than one per step.
    assert_eq!(h.sim.state.request_count("GET", "/Groups/"), patches);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_grants_and_revokes_on_two_groups_lose_nothing() {
    let h = harness(|s| s.faults.latency_ms = 1, "").await;
    let old = users(&h, "old", 10);
    let new = users(&h, "new", 10);
    let stranger = seed_user(&h, "stranger@example.org", json!({}));
    let old_refs: Vec<&AccountRef> = old.iter().collect();
    let groups = [
        seed_group(&h, "A", &old_refs),
        seed_group(&h, "B", &old_refs),
    ];

    let mut ops = Vec::new();
    for g in &groups {
        for o in &old[..5] {
            ops.push(revoke(o, g));
        }
        for n in &new {
            ops.push(grant(n, g));
        }
        ops.push(grant(&old[9], g));
        ops.push(revoke(&stranger, g));
    }
    let results = all_at_once(&h, ops).await;
    let per_group = 5 + 10 + 2;
    for (i, r) in results.iter().enumerate() {
        let want = if i % per_group == per_group - 1 {
            Outcome::AlreadyAbsent
        } else {
            Outcome::Done
        };
        assert_eq!(r.as_ref().ok(), Some(&want), "op {i}: {r:?}");
    }
    for g in &groups {
        let want: Vec<String> = old[5..]
            .iter()
            .chain(&new)
            .map(|a| a.as_str().to_owned())
            .collect();
        let got = members(&h, g);
        // Kept members first in their order; granted ones after them, in any order.
        assert_eq!(got[..5], want[..5], "group {g}");
        let mut got_new = got[5..].to_vec();
        let mut want_new = want[5..].to_vec();
        got_new.sort();
        want_new.sort();
        assert_eq!(got_new, want_new, "group {g}");
    }
    let patches = h.sim.state.request_count("PATCH", "/Groups");
    assert!(patches <= 12, "{patches} PATCHes for 34 changes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_every_member_empties_the_group() {
    let h = harness(|_| {}, "").await;
    let people = users(&h, "r", 3);
    let refs: Vec<&AccountRef> = people.iter().collect();
    let group = seed_group(&h, "Weg", &refs);
    let results = all_at_once(&h, people.iter().map(|p| revoke(p, &group)).collect()).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().ok() == Some(&Outcome::Done)),
        "{results:?}"
    );
    assert!(members(&h, &group).is_empty());
    let observed = h.conn.read_all().await.unwrap();
    assert!(observed.groups[0].members.is_empty());
}

#[tokio::test]
async fn a_missing_group_fails_every_action_without_a_patch() {
    let h = harness(|_| {}, "").await;
    let people = users(&h, "m", 4);
    let ghost = GroupRef::new("7d3c2b8f-0000-4000-8000-000000000000");
    let results = all_at_once(&h, people.iter().map(|p| grant(p, &ghost)).collect()).await;
    for r in results {
        match r {
            Err(ConnectorError::GroupGone { group, .. }) => assert_eq!(group, ghost),
            other => panic!("expected GroupGone, got {other:?}"),
        }
    }
    assert_eq!(h.sim.state.request_count("PATCH", "/Groups"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_of_a_deleted_account_fails_alone() {
    let h = harness(|_| {}, "delete = \"hard\"\n").await;
    let people = users(&h, "d", 5);
    let group = seed_group(&h, "G", &[]);
    let gone = people[2].clone();
    exec(
        &h,
        Operation::Delete {
            account: gone.clone(),
            changes: Default::default(),
        },
    )
    .await
    .unwrap();
    let results = all_at_once(&h, people.iter().map(|p| grant(p, &group)).collect()).await;
    for (p, r) in people.iter().zip(&results) {
        if *p == gone {
            assert!(
                matches!(r, Err(ConnectorError::AccountGone { account, .. }) if *account == gone),
                "{r:?}"
            );
        } else {
            assert_eq!(r.as_ref().ok(), Some(&Outcome::Done), "{p}: {r:?}");
        }
    }
    let mut got = members(&h, &group);
    got.sort();
    let mut want: Vec<String> = people
        .iter()
        .filter(|p| **p != gone)
        .map(|p| p.as_str().to_owned())
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lane_steps_survive_5xx_and_dropped_connections() {
    let h = harness(
        |s| {
            s.faults.error_5xx_ratio = 0.2;
            s.faults.drop_ratio = 0.1;
            s.faults.fault_scope = Some(muster_sim::FaultScope {
                method: None,
                path: Some("/Groups/*".into()),
            });
        },
        "max_attempts = 8\n",
    )
    .await;
    let people = users(&h, "f", 20);
    let groups = [seed_group(&h, "X", &[]), seed_group(&h, "Y", &[])];
    let ops = groups
        .iter()
        .flat_map(|g| people.iter().map(move |p| grant(p, g)))
        .collect();
    let results = all_at_once(&h, ops).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().ok() == Some(&Outcome::Done)),
        "{results:?}"
    );
    for g in &groups {
        assert_eq!(members(&h, g).len(), 20);
    }
    assert!(!h.sim.state.fault_log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_remove_mode_sends_one_patch_per_change_and_no_read() {
    let h = harness(
        |s| s.membership_add_remove = true,
        "membership = \"add-remove\"\n",
    )
    .await;
    let people = users(&h, "a", 6);
    let group = seed_group(&h, "G", &[&people[0], &people[1]]);
    let mut ops: Vec<Operation> = people[2..].iter().map(|p| grant(p, &group)).collect();
    ops.push(revoke(&people[0], &group));
    let results = all_at_once(&h, ops).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().ok() == Some(&Outcome::Done)),
        "{results:?}"
    );
    let mut got = members(&h, &group);
    got.sort();
    let mut want: Vec<String> = people[1..].iter().map(|p| p.as_str().to_owned()).collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(h.sim.state.request_count("PATCH", "/Groups"), 5);
    assert_eq!(h.sim.state.request_count("GET", "/Groups"), 0);

    // A tenant that does not take them answers with Zivver's refusal, passed on as is.
    h.sim
        .state
        .update_switches(|s| s.membership_add_remove = false);
    match exec(&h, grant(&people[0], &group)).await {
        Err(ConnectorError::Rejected { status, detail, .. }) => {
            assert_eq!(
                (status, detail.as_str()),
                (400, "Unsupported patch operation")
            )
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    // A missing group is still a missing group.
    let ghost = GroupRef::new("00000000-0000-4000-8000-00000000000a");
    assert!(matches!(
        exec(&h, revoke(&people[0], &ghost)).await,
        Err(ConnectorError::GroupGone { .. })
    ));
}

#[tokio::test]
async fn add_remove_mode_settles_an_add_whose_answer_is_lost_by_a_read_never_a_blind_resend() {
    // Every PATCH is applied and its connection then closed unanswered.
    let h = harness(
        |s| {
            s.membership_add_remove = true;
            s.faults.drop_after_apply_ratio = 1.0;
            s.faults.fault_scope = Some(muster_sim::FaultScope::new("PATCH", "/Groups/*"));
        },
        "membership = \"add-remove\"\nmax_attempts = 5\n",
    )
    .await;
    let people = users(&h, "lost", 2);
    let group = seed_group(&h, "Lost", &[]);
    assert_eq!(
        exec(&h, grant(&people[0], &group)).await.unwrap(),
        Outcome::Done
    );
    assert_eq!(
        h.sim.state.request_count("PATCH", "/Groups"),
        1,
        "the add is sent once; the group is read instead of sending it again"
    );
    assert_eq!(h.sim.state.request_count("GET", "/Groups/"), 1);
    assert_eq!(members(&h, &group), [people[0].as_str().to_owned()]);

    // Now every PATCH is dropped *unapplied*: each read finds the member absent, so the add
    // is sent again after it, three sends at most, and the outcome stays uncertain.
    h.sim.state.update_switches(|s| {
        s.faults.drop_after_apply_ratio = 0.0;
        s.faults.drop_ratio = 1.0;
    });
    let again = exec(&h, grant(&people[1], &group)).await;
    assert!(
        matches!(again, Err(ConnectorError::Uncertain { .. })),
        "{again:?}"
    );
    assert_eq!(h.sim.state.request_count("PATCH", "/Groups"), 1 + 3);
    assert_eq!(h.sim.state.request_count("GET", "/Groups/"), 1 + 3);
    assert_eq!(members(&h, &group), [people[0].as_str().to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_429s_slows_the_run_but_fails_nothing() {
    // Zivver's limiter at 6 per 1 s window, and a connector whose own budget is far higher,
    // so the 429s come from Zivver; the body's `windowSeconds` (no Retry-After) sets the wait.
    let h = harness(
        |s| {
            s.faults.rate_limit = true;
            s.faults.rate_budget = 6;
            s.faults.rate_window_s = 1;
        },
        "rate_limit = { requests = 1000, per_seconds = 1 }\nmax_attempts = 2\n",
    )
    .await;
    let group = seed_group(&h, "Storm", &[]);
    let started = Instant::now();
    let creates = (0..8)
        .map(|i| Operation::Create {
            attributes: attrs(&[
                ("userName", json!(format!("s{i}@example.org"))),
                (SSO_ACCOUNT_KEY, json!(format!("s{i}@upn"))),
            ]),
            enabled: true,
        })
        .collect();
    let ids: Vec<AccountRef> = all_at_once(&h, creates)
        .await
        .into_iter()
        .map(created)
        .collect();
    let results = all_at_once(&h, ids.iter().map(|id| grant(id, &group)).collect()).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().ok() == Some(&Outcome::Done)),
        "{results:?}"
    );
    let elapsed = started.elapsed();

    assert_eq!(members(&h, &group).len(), 8);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            h.sim.state.sso_key_of(id.as_str()),
            Some(format!("s{i}@upn"))
        );
        assert_eq!(
            h.sim.state.user(id.as_str()).unwrap()[ZIVVER]["aliases"],
            json!([])
        );
    }
    // No duplicate from a throttled create.
    assert_eq!(h.sim.state.users().len(), 8);
    let counts = h.conn.request_counts();
    assert!(counts.throttled >= 1, "{counts:?}");
    // At least 10 requests got through at 6 per window: the run waited for the window.
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    // Waiting out the window (not retrying at backoff pace) keeps 429s few: each window
    // refuses at most the requests already in flight when it closed.
    assert!(
        counts.throttled <= 8 * (1 + elapsed.as_secs()),
        "{counts:?} in {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_too() {
    let h = harness(
        |s| {
            s.faults.rate_limit = true;
            s.faults.rate_budget = 3;
            s.faults.rate_window_s = 1;
            s.faults.retry_after = true;
        },
        "",
    )
    .await;
    let ids = users(&h, "ra", 5);
    let group = seed_group(&h, "RA", &[]);
    let results = all_at_once(&h, ids.iter().map(|id| grant(id, &group)).collect()).await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    for id in &ids {
        let out = exec(
            &h,
            Operation::SetEnabled {
                account: id.clone(),
                enabled: false,
                changes: Default::default(),
            },
        )
        .await;
        assert_eq!(out.unwrap(), Outcome::Done);
    }
    assert_eq!(members(&h, &group).len(), 5);
    assert!(h.conn.request_counts().throttled >= 1);
}
