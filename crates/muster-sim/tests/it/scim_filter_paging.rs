//! Filters (with escapes and percent-encoding) and paging.

use std::collections::BTreeSet;

use serde_json::json;

use crate::{enc, sim, sim_with_switches, Sim, ENTERPRISE, USER};

async fn with_people() -> (Sim, String, String) {
    let s = sim().await;
    let ann = s
        .create_user(json!({
            "schemas": [USER, ENTERPRISE], "userName": "ann \"jr\" o+b@corp.example", "externalId": "E-1",
            "displayName": "Ann Example",
            "emails": [{ "value": "ann@home.example", "type": "home" }, { "value": "ann@corp.example", "type": "work" }],
            ENTERPRISE: { "department": "Sales" },
        }))
        .await;
    let bob = s
        .create_user(json!({
            "schemas": [USER], "userName": "bob\\ops@corp.example", "externalId": "E-2", "displayName": "Bob",
            "emails": [{ "value": "bob@corp.example", "type": "work" }],
        }))
        .await;
    (s, ann, bob)
}

async fn find(s: &Sim, filter: &str) -> Vec<String> {
    s.list_ids(&format!("/Users?filter={}", enc(filter))).await
}

#[tokio::test]
async fn the_spec_example_filter_finds_a_name_with_quotes_and_plus() {
    let (s, ann, _) = with_people().await;
    // Byte for byte the encoding scim.md gives.
    let ids = s
        .list_ids("/Users?filter=userName%20eq%20%22ann%20%5C%22jr%5C%22%20o%2Bb%40corp.example%22")
        .await;
    assert_eq!(ids, vec![ann.clone()]);
    // A raw `+` is form-decoded to a space, so a client that forgets %2B finds nothing.
    let ids = s
        .list_ids("/Users?filter=userName%20eq%20%22ann%20%5C%22jr%5C%22%20o+b%40corp.example%22")
        .await;
    assert!(ids.is_empty());
}

#[tokio::test]
async fn escapes_are_unescaped_as_json_strings() {
    let (s, ann, bob) = with_people().await;
    assert_eq!(
        find(&s, r#"userName eq "bob\\ops@corp.example""#).await,
        [bob]
    );
    assert_eq!(
        find(&s, r#"userName eq "\u0061nn \"jr\" o+b@corp.example""#).await,
        [ann]
    );
    // `\o` is no JSON escape: the filter is malformed, not a miss.
    let r = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"userName eq "bob\ops@corp.example""#)
        ))
        .await;
    r.assert_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn user_name_matches_ignoring_case() {
    let (s, ann, bob) = with_people().await;
    assert_eq!(
        find(&s, r#"userName eq "ANN \"JR\" O+B@CORP.EXAMPLE""#).await,
        vec![ann.clone()]
    );
    assert_eq!(find(&s, r#"USERNAME sw "BOB""#).await, [bob]);
    // externalId is case-exact (RFC 7643).
    assert_eq!(find(&s, r#"externalId eq "E-1""#).await, [ann]);
    assert!(find(&s, r#"externalId eq "e-1""#).await.is_empty());
}

#[tokio::test]
async fn operators_and_logic_select_the_right_users() {
    let (s, ann, bob) = with_people().await;
    let both = [ann.clone(), bob.clone()];
    assert_eq!(
        find(&s, r#"displayName co "xampl""#).await,
        vec![ann.clone()]
    );
    assert_eq!(
        find(&s, r#"emails.value eq "bob@corp.example""#).await,
        vec![bob.clone()]
    );
    assert_eq!(
        find(&s, r#"emails[type eq "work"].value eq "ann@corp.example""#).await,
        vec![ann.clone()]
    );
    assert!(
        find(&s, r#"emails[type eq "home"].value eq "bob@corp.example""#)
            .await
            .is_empty()
    );
    assert_eq!(find(&s, "externalId pr").await, both);
    assert_eq!(
        find(&s, r#"externalId eq "E-1" or externalId eq "E-2""#).await,
        both
    );
    assert_eq!(
        find(&s, r#"externalId eq "E-1" and displayName sw "Ann""#).await,
        vec![ann.clone()]
    );
    assert!(find(&s, r#"externalId eq "E-2" and displayName sw "Ann""#)
        .await
        .is_empty());
    assert_eq!(
        find(
            &s,
            r#"(externalId eq "E-2" or externalId eq "E-1") and displayName eq "bob""#
        )
        .await,
        vec![bob.clone()]
    );
    assert_eq!(
        find(&s, &format!(r#"{ENTERPRISE}:department eq "sales""#)).await,
        [ann]
    );
    let groups = s
        .get(&format!(
            "/Groups?filter={}",
            enc(r#"displayName eq "none""#)
        ))
        .await;
    assert_eq!(groups.body["totalResults"], 0);
}

#[tokio::test]
async fn malformed_filters_are_invalid_filter() {
    let (s, ..) = with_people().await;
    for bad in [
        r#"userName eq "open"#,
        "userName eq",
        r#"userName eq unquoted"#,
        r#"(userName eq "a""#,
        r#"userName zz "a""#,
    ] {
        let r = s.get(&format!("/Users?filter={}", enc(bad))).await;
        r.assert_error(400, Some("invalidFilter"));
    }
}

#[tokio::test]
async fn filtering_switched_off_answers_501() {
    let s = sim_with_switches(|sw| sw.filter = false).await;
    s.get(&format!("/Users?filter={}", enc(r#"userName eq "a""#)))
        .await
        .assert_error(501, None);
    assert_eq!(s.get("/Users").await.status, 200);
}

#[tokio::test]
async fn search_by_post_takes_the_same_parameters() {
    let (s, _, bob) = with_people().await;
    let r = s
        .post(
            "/Users/.search",
            json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "externalId eq \"E-2\"", "count": 5 }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["Resources"][0]["id"], json!(bob));
}

async fn seeded(s: &Sim, n: usize) {
    for i in 0..n {
        s.sim
            .state
            .seed_user(json!({ "userName": format!("user{i:03}@x") }))
            .unwrap();
    }
}

#[tokio::test]
async fn paging_follows_start_index_and_count() {
    let s = sim().await;
    seeded(&s, 25).await;
    let r = s.get("/Users?startIndex=1&count=10").await;
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(
        (
            r.body["totalResults"].as_u64(),
            r.body["itemsPerPage"].as_u64(),
            r.body["startIndex"].as_u64()
        ),
        (Some(25), Some(10), Some(1))
    );
    assert_eq!(r.body["Resources"][0]["userName"], "user000@x");
    let r = s.get("/Users?startIndex=21&count=10").await;
    assert_eq!(r.body["itemsPerPage"], 5);
    assert_eq!(r.body["Resources"][0]["userName"], "user020@x");
    let r = s.get("/Users?startIndex=40&count=10").await;
    assert_eq!(
        (
            r.body["totalResults"].as_u64(),
            r.body["itemsPerPage"].as_u64()
        ),
        (Some(25), Some(0))
    );
    assert_eq!(r.body["Resources"], json!([]));
    let r = s.get("/Users?startIndex=0&count=0").await;
    assert_eq!(
        (
            r.body["totalResults"].as_u64(),
            r.body["itemsPerPage"].as_u64()
        ),
        (Some(25), Some(0))
    );
    s.get("/Users?count=ten")
        .await
        .assert_error(400, Some("invalidValue"));

    // A full read page by page sees everyone once.
    let mut seen = BTreeSet::new();
    let mut start = 1;
    for _ in 0..10 {
        let ids = s
            .list_ids(&format!("/Users?startIndex={start}&count=7"))
            .await;
        if ids.is_empty() {
            break;
        }
        start += ids.len();
        seen.extend(ids);
    }
    assert_eq!(seen.len(), 25);
}

#[tokio::test]
async fn count_is_capped_at_max_results() {
    let s = sim_with_switches(|sw| sw.max_results = 20).await;
    seeded(&s, 25).await;
    let r = s.get("/Users?count=500").await;
    assert_eq!(
        (
            r.body["totalResults"].as_u64(),
            r.body["itemsPerPage"].as_u64()
        ),
        (Some(25), Some(20))
    );
    let r = s.get("/Users").await;
    assert_eq!(
        r.body["itemsPerPage"], 20,
        "without count the page is max_results"
    );
}

#[tokio::test]
async fn a_server_ignoring_paging_returns_everything_every_time() {
    let s = sim_with_switches(|sw| sw.honour_paging = false).await;
    seeded(&s, 25).await;
    let first = s.list_ids("/Users?startIndex=1&count=10").await;
    let second = s.list_ids("/Users?startIndex=11&count=10").await;
    assert_eq!(first.len(), 25);
    assert_eq!(first, second);
}

#[tokio::test]
async fn a_large_directory_answers_user_name_lookups() {
    let s = sim().await;
    for i in 0..10_000 {
        s.sim
            .state
            .seed_user(json!({ "userName": format!("bulk{i}@corp.example") }))
            .unwrap();
    }
    let ids = s
        .list_ids(&format!(
            "/Users?filter={}",
            enc(r#"userName eq "BULK9999@corp.example""#)
        ))
        .await;
    assert_eq!(ids.len(), 1);
    assert_eq!(
        s.sim.state.user_by_name("bulk9999@CORP.example").unwrap()["id"],
        json!(ids[0])
    );
    let r = s.get("/Users?startIndex=9991&count=200").await;
    assert_eq!(r.body["itemsPerPage"], 10);
}
