//! HelloID faults against the simulator (helloid.md §6 "Errors", §7 switches): 429 with and
//! without `Retry-After` waited out, 5xx and dropped connections retried on requests that are
//! safe to repeat, and a create whose outcome is unknown returned uncertain, never re-posted.

use crate::helloid::harness;
use muster_core::connector::{Attributes, Connector, ConnectorError, Operation, Outcome};
use muster_core::AccountRef;
use serde_json::json;

fn create(name: &str) -> Operation {
    Operation::Create {
        attributes: [("userName".to_owned(), json!(name))].into_iter().collect(),
        enabled: true,
    }
}

#[tokio::test]
async fn rate_limited_reads_are_waited_out_with_and_without_retry_after() {
    for retry_after in [true, false] {
        let h = harness(
            |s| {
                s.faults.rate_limit = true;
                s.faults.rate_budget = 4;
                s.faults.rate_window_s = 1;
                s.faults.retry_after = retry_after;
            },
            "max_attempts = 3\n",
        )
        .await;
        for i in 0..3 {
            h.seed(&format!("u{i}@x"));
        }
        // 3 user reads, 1 group list, 2 group details, 2 product reads: over the budget.
        let seen = h.conn.read_all().await.unwrap();
        assert_eq!(seen.accounts.len(), 3);
        assert_eq!(seen.groups.len(), 4);
        let counts = h.conn.request_counts();
        assert!(
            counts.throttled > 0,
            "retry_after={retry_after}: {counts:?}"
        );
    }
}

#[tokio::test]
async fn server_errors_on_reads_and_writes_are_retried() {
    let h = harness(|s| s.faults.error_5xx_ratio = 0.4, "max_attempts = 12\n").await;
    for i in 0..5 {
        h.seed(&format!("u{i}@x"));
    }
    let seen = h.conn.read_all().await.unwrap();
    assert_eq!(seen.accounts.len(), 5);
    let guid = seen.accounts[0].reference.clone();
    let op = Operation::Update {
        account: guid.clone(),
        changes: [("firstName".to_owned(), json!("Retried"))]
            .into_iter()
            .collect(),
    };
    assert_eq!(h.conn.execute(&op).await.unwrap(), Outcome::Done);
    assert_eq!(
        h.sim.state.user(guid.as_str()).unwrap()["firstName"],
        json!("Retried")
    );
    assert!(h.conn.request_counts().retried > 0);
}

#[tokio::test]
async fn dropped_connections_on_puts_are_retried() {
    let h = harness(
        |s| s.faults.drop_after_apply_ratio = 0.5,
        "max_attempts = 12\n",
    )
    .await;
    let guid = h.seed("a@x");
    let op = Operation::SetEnabled {
        account: AccountRef::new(&guid),
        enabled: false,
        changes: Attributes::new(),
    };
    assert_eq!(h.conn.execute(&op).await.unwrap(), Outcome::Done);
    assert_eq!(h.sim.state.user(&guid).unwrap()["isEnabled"], json!(false));
}

#[tokio::test]
async fn an_uncertain_create_is_not_reposted_and_the_lookup_finds_it() {
    let h = harness(|s| s.faults.error_5xx_after_apply_ratio = 1.0, "").await;
    let err = h.conn.execute(&create("new@x")).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Uncertain { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(h.count("POST", "/users"), 1);
    h.sim
        .state
        .update_switches(|s| s.faults.error_5xx_after_apply_ratio = 0.0);
    let found = h.conn.lookup("userName", "new@x").await.unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn a_create_that_outlasts_the_timeout_is_uncertain() {
    let h = harness(
        |s| {
            s.faults.hang_ms = 2500;
            s.faults.hang_ratio = 1.0;
        },
        "timeout_s = 1\n",
    )
    .await;
    let err = h.conn.execute(&create("slow@x")).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Uncertain { .. }), "{err:?}");
    assert_eq!(h.count("POST", "/users"), 1);
}

#[tokio::test]
async fn a_membership_grant_whose_answer_is_lost_is_settled_by_a_re_read() {
    let h = harness(|_| {}, "max_attempts = 12\n").await;
    let staff = h.group_guid("Staff");
    let guids: Vec<String> = (0..10).map(|i| h.seed(&format!("u{i}@x"))).collect();
    // Half the requests are applied and then lose their answer: a grant POST is never
    // repeated blindly, so only the re-read of the group can say it is done.
    h.sim
        .state
        .update_switches(|s| s.faults.drop_after_apply_ratio = 0.5);
    for guid in &guids {
        let op = Operation::Grant {
            account: AccountRef::new(guid),
            group: muster_core::GroupRef::new(&staff),
        };
        assert_eq!(h.conn.execute(&op).await.unwrap(), Outcome::Done, "{guid}");
    }
    assert!(
        h.count("GET", "/groups/{id}") > 0,
        "no grant lost its answer"
    );
    assert_eq!(h.count("POST", "/users/{id}/groups"), 10);
    assert_eq!(h.sim.state.members(&staff).len(), 10);
}

#[tokio::test]
async fn an_uncertain_product_request_is_checked_against_the_assignments() {
    let h = harness(|_| {}, "max_attempts = 12\n").await;
    let laptop = h.product_id("Laptop");
    let guids: Vec<String> = (0..10).map(|i| h.seed(&format!("u{i}@x"))).collect();
    // Half the requests are applied and then answered 503: a request POST is not repeated,
    // the user's assignments say whether it took. (Without `Retry-After`, so the reads that
    // meet a 503 back off for milliseconds, not seconds.)
    h.sim.state.update_switches(|s| {
        s.faults.error_5xx_after_apply_ratio = 0.5;
        s.faults.retry_after = false;
    });
    for guid in &guids {
        let op = Operation::Grant {
            account: AccountRef::new(guid),
            group: muster_core::GroupRef::new(format!("product:{laptop}")),
        };
        assert_eq!(h.conn.execute(&op).await.unwrap(), Outcome::Done, "{guid}");
    }
    assert_eq!(h.count("POST", "/selfservice/products/request"), 10);
    for guid in &guids {
        assert_eq!(h.sim.state.assignments(Some(guid)).len(), 1, "{guid}");
    }
}
