//! Credentials and faults: a refused secret, a managed identity, a throttled tenant, a page
//! that fails, garbles or times out. A read that cannot get everything gets nothing.

use crate::{config, read, sim, tenant};
use muster_connectors::SecretRef;
use muster_sim::exchange::{BadPageAnswer, ExchangeSwitches};
use muster_sim::Faults;

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_secret_is_a_clear_error_that_shows_no_secret() {
    let sim = sim(tenant(), 1000).await;
    std::env::set_var("MUSTER_EXO_TEST_WRONG_SECRET", "hunter2-wrong");
    let mut c = config(&sim);
    c.client_secret = Some(SecretRef::Env("MUSTER_EXO_TEST_WRONG_SECRET".into()));
    let e = read(&c).await.unwrap_err().to_string();
    assert!(
        e.contains("token endpoint") && e.contains("401") && e.contains("AADSTS7000215"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
    assert!(!format!("{c:?}").contains("hunter2"));
    let counts = sim.state.counter().snapshot();
    assert_eq!(counts["POST /token"], 1, "a 401 is not retried: {counts:?}");
    assert!(!counts.contains_key("GET /Mailbox"), "{counts:?}");
    c.client_secret = Some(SecretRef::Env("MUSTER_EXO_TEST_UNSET_SECRET".into()));
    let e = read(&c).await.unwrap_err().to_string();
    assert!(
        e.contains("client_secret") && e.contains("MUSTER_EXO_TEST_UNSET_SECRET"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_managed_identity_gets_its_tokens_from_the_identity_endpoint() {
    let sim = sim(tenant(), 1000).await;
    std::env::set_var("IDENTITY_ENDPOINT", sim.identity_endpoint());
    std::env::set_var("IDENTITY_HEADER", "sim-identity");
    let mut c = config(&sim);
    c.client_secret = None;
    c.client_id = None;
    c.managed_identity = true;
    c.source_filter_groups = vec!["g-support".into()];
    let read = read(&c).await.unwrap();
    assert_eq!(read.valid_count(), 6);
    let counts = sim.state.counter().snapshot();
    assert_eq!(
        counts["GET /msi/token"], 2,
        "one token for Exchange, one for Graph: {counts:?}"
    );
    assert!(!counts.contains_key("POST /token"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_tenant_is_waited_out() {
    let sim = sim(tenant(), 2).await;
    let calm = read(&config(&sim)).await.unwrap();
    let calm_requests = sim.state.counter().total();
    sim.state.counter().clear();
    sim.state.set_switches(ExchangeSwitches {
        page_size: 2,
        faults: Faults {
            rate_limit: true,
            rate_budget: 4,
            rate_window_s: 1,
            ..Faults::default()
        },
        ..ExchangeSwitches::default()
    });
    let mut c = config(&sim);
    c.max_attempts = 20;
    let throttled = read(&c).await.unwrap();
    assert_eq!(throttled.records, calm.records);
    // The refused requests are counted too: more requests means some were answered 429.
    assert!(
        sim.state.counter().total() > calm_requests,
        "{} requests throttled, {calm_requests} calm",
        sim.state.counter().total()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_page_fails_the_read() {
    let sim = sim(tenant(), 2).await;
    for answer in [BadPageAnswer::Error, BadPageAnswer::Garbage] {
        sim.state.set_switches(ExchangeSwitches {
            page_size: 2,
            bad_page: 3,
            bad_page_answer: answer,
            ..ExchangeSwitches::default()
        });
        let mut c = config(&sim);
        c.max_attempts = 2;
        let e = read(&c).await.unwrap_err().to_string();
        assert!(
            e.contains("mailbox list, page 3") && e.contains("nothing was read"),
            "{answer:?}: {e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_times_out_fails_the_read() {
    let sim = sim(tenant(), 2).await;
    sim.state.set_switches(ExchangeSwitches {
        page_size: 2,
        bad_page: 2,
        bad_page_answer: BadPageAnswer::Hang,
        bad_page_hang_ms: 4_000,
        ..ExchangeSwitches::default()
    });
    let mut c = config(&sim);
    c.timeout_s = 1;
    c.max_attempts = 2;
    let e = read(&c).await.unwrap_err().to_string();
    assert!(e.contains("page 2") && e.contains("timed out"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_until_they_pass() {
    let sim = sim(tenant(), 2).await;
    let calm = read(&config(&sim)).await.unwrap();
    sim.state.set_switches(ExchangeSwitches {
        page_size: 2,
        faults: Faults {
            error_5xx_ratio: 0.3,
            drop_ratio: 0.1,
            retry_after: false,
            ..Faults::default()
        },
        ..ExchangeSwitches::default()
    });
    let mut c = config(&sim);
    c.max_attempts = 30;
    let shaky = read(&c).await.unwrap();
    assert_eq!(shaky.records, calm.records);
}
