//! `skip`/`take` on every list and both list shapes (helloid.md §1, §7), with more users than
//! one page of 1000 holds, live and deleted.

use muster_sim::helloid::ListShape;
use serde_json::{json, Value};

use super::{hsim, items, H};

fn names(users: &[Value]) -> Vec<String> {
    users
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect()
}

/// 2,100 users seeded; the first 1,050 soft-deleted.
async fn crowded() -> (H, Vec<String>) {
    let h = hsim().await;
    let mut guids = Vec::new();
    for i in 0..2100 {
        guids.push(h.seed(&format!("user{i:04}@example.org")));
    }
    for g in &guids[..1050] {
        h.sim.state.delete_user(g).unwrap();
    }
    (h, guids)
}

async fn walk_both_lists(h: &H) {
    let (live, pages) = h.read_all("/users", "", 1000).await;
    assert_eq!(pages, 2);
    assert_eq!(live.len(), 1050);
    let want: Vec<String> = (1050..2100)
        .map(|i| format!("user{i:04}@example.org"))
        .collect();
    assert_eq!(names(&live), want);
    let (deleted, pages) = h.read_all("/users", "isDeleted=true&", 1000).await;
    assert_eq!(pages, 2);
    let want: Vec<String> = (0..1050)
        .map(|i| format!("user{i:04}@example.org"))
        .collect();
    assert_eq!(names(&deleted), want);
}

#[tokio::test]
async fn more_than_a_thousand_users_page_in_array_and_data_shape() {
    let (h, _) = crowded().await;
    // Default: bare arrays, the last page shorter than take.
    let r = h.get("/users?take=1000&skip=1000").await;
    assert!(r.body.is_array());
    assert_eq!(r.body.as_array().unwrap().len(), 50);
    walk_both_lists(&h).await;

    h.sim
        .state
        .update_switches(|s| s.list_shape = ListShape::Data);
    let r = h.get("/users?take=1000&skip=0").await;
    let obj = r.body.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["data"]);
    assert_eq!(obj["data"].as_array().unwrap().len(), 1000);
    walk_both_lists(&h).await;
    // Ten pages of 105 deleted users, read the same way.
    let (deleted, pages) = h.read_all("/users", "isDeleted=True&", 105).await;
    assert_eq!((deleted.len(), pages), (1050, 11));
    // One probe and two walks of 2 + 2 pages per shape, then the 11 small pages.
    assert_eq!(
        h.sim.state.request_count("GET", "/users"),
        1 + 4 + 1 + 4 + 11
    );
}

#[tokio::test]
async fn paging_parameters_any_case_bounds_and_refusals() {
    let h = hsim().await;
    for i in 0..5 {
        h.seed(&format!("u{i}@example.org"));
    }
    let page = |r: &super::R| names(&items(&r.body));
    assert_eq!(
        page(&h.get("/users?Skip=1&TAKE=2").await),
        ["u1@example.org", "u2@example.org"]
    );
    assert_eq!(page(&h.get("/users?skip=3").await).len(), 2);
    assert_eq!(page(&h.get("/users").await).len(), 5);
    assert_eq!(h.get("/users?skip=9&take=5").await.body, json!([]));
    assert_eq!(h.get("/users?take=0").await.body, json!([]));
    let r = h.get("/users?take=-1").await;
    r.assert_error(400, json!({ "message": "Invalid value for take" }));
    let r = h.get("/users?skip=x").await;
    r.assert_error(400, json!({ "message": "Invalid value for skip" }));
    let r = h.get("/users?isDeleted=maybe").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        h.get("/users?isDeleted=false")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn groups_products_and_assignments_page_too() {
    let h = hsim().await;
    for i in 0..5 {
        h.sim.state.seed_group(&format!("G{i}"));
    }
    let (groups, pages) = h.read_all("/groups", "", 3).await;
    assert_eq!((groups.len(), pages), (7, 3));
    assert_eq!(
        groups[0],
        json!({ "groupGuid": groups[0]["groupGuid"], "name": "Staff", "isEnabled": true })
    );
    assert!(groups.iter().all(|g| g.get("users").is_none()));

    let (products, pages) = h.read_all("/products", "", 1).await;
    assert_eq!((products.len(), pages), (2, 3));
    assert_eq!(products[1]["name"], json!("Phone"));

    let u = h.seed("a@example.org");
    let laptop = h.product_id("Laptop");
    for _ in 0..3 {
        h.sim.state.seed_assignment(&u, &laptop).unwrap();
    }
    let (all, pages) = h.read_all("/product-assignment", "", 2).await;
    assert_eq!((all.len(), pages), (3, 2));
    let (mine, pages) = h
        .read_all(&format!("/product-assignment/by-user/{u}"), "", 2)
        .await;
    assert_eq!((mine.len(), pages), (3, 2));

    h.sim
        .state
        .update_switches(|s| s.list_shape = ListShape::Data);
    for path in [
        "/groups?take=2",
        "/products?take=2",
        "/product-assignment?take=2",
    ] {
        let r = h.get(path).await;
        assert_eq!(r.body["data"].as_array().unwrap().len(), 2, "{path}");
    }
}
