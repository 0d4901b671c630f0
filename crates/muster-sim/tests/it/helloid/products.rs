//! Products, assignments, self-service requests with and without approval, and unassign by
//! product (helloid.md §2, §4.6, §7).

use serde_json::{json, Value};

use super::{hsim, items, H};

fn request_body(product: &str, user: &str) -> Value {
    json!({
        "requestedProductGUID": product,
        "requestedByUserGUID": user,
        "requestedForUserGUID": user,
        "comment": "Requested by HelloID Provisioning",
    })
}

async fn by_user(h: &H, user: &str) -> Vec<Value> {
    let r = h.get(&format!("/product-assignment/by-user/{user}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    items(&r.body)
}

#[tokio::test]
async fn a_request_becomes_an_assignment_at_once_by_default() {
    let h = hsim().await;
    let r = h.get("/products").await;
    let products = items(&r.body);
    assert_eq!(products.len(), 2);
    let laptop = products[0]["productId"].as_str().unwrap().to_string();
    assert_eq!(
        products[0],
        json!({ "productId": laptop, "name": "Laptop" })
    );

    let u = h.create("a@example.org").await;
    let other = h.create("b@example.org").await;
    let r = h
        .post("/selfservice/products/request", request_body(&laptop, &u))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], json!("Approved"));
    let want = json!([{ "productGuid": laptop, "productName": "Laptop", "userGuid": u }]);
    assert_eq!(json!(by_user(&h, &u).await), want);
    assert_eq!(json!(items(&h.get("/product-assignment").await.body)), want);
    assert!(by_user(&h, &other).await.is_empty());

    let ghost = "0d94b6e8-27c1-4f3a-8e55-c2a9f7316b04";
    h.post("/selfservice/products/request", request_body(ghost, &u))
        .await
        .assert_error(404, json!({ "message": "Product not found" }));
    h.post(
        "/selfservice/products/request",
        request_body(&laptop, ghost),
    )
    .await
    .assert_error(404, json!({ "message": "User not found" }));
    h.get(&format!("/product-assignment/by-user/{ghost}"))
        .await
        .assert_error(404, json!({ "message": "User not found" }));
    let r = h
        .post(
            "/selfservice/products/request",
            json!({ "requestedProductGUID": laptop }),
        )
        .await;
    r.assert_error(
        400,
        json!({ "message": "requestedForUserGUID is required" }),
    );
    assert_eq!(h.sim.state.assignments(None).len(), 1);
}

#[tokio::test]
async fn with_product_approval_a_request_waits_until_approved_through_the_test_api() {
    let h = hsim().await;
    h.sim.state.update_switches(|s| s.product_approval = true);
    let laptop = h.product_id("Laptop");
    let phone = h.product_id("Phone");
    let u = h.seed("a@example.org");
    let first = h
        .post("/selfservice/products/request", request_body(&laptop, &u))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["status"], json!("Pending"));
    let second = h
        .post("/selfservice/products/request", request_body(&phone, &u))
        .await;
    assert!(by_user(&h, &u).await.is_empty());
    assert_eq!(h.sim.state.pending_requests().len(), 2);

    // Approve one by GUID, then the rest.
    let r = h
        .http
        .post(h.root("/_sim/approve"))
        .json(&json!({ "requestGuid": second.body["requestGuid"] }))
        .send()
        .await
        .unwrap();
    let r = super::read(r).await;
    assert_eq!(r.body, json!({ "approved": [second.body["requestGuid"]] }));
    let held: Vec<Value> = by_user(&h, &u).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["productGuid"], json!(phone));
    let r = super::read(h.http.post(h.root("/_sim/approve")).send().await.unwrap()).await;
    assert_eq!(r.body, json!({ "approved": [first.body["requestGuid"]] }));
    assert_eq!(by_user(&h, &u).await.len(), 2);
    assert!(h.sim.state.pending_requests().is_empty());
    assert_eq!(
        h.sim.state.requests()[0]["comment"],
        json!("Requested by HelloID Provisioning")
    );
}

#[tokio::test]
async fn unassign_removes_every_assignment_of_the_product_and_records_execute_actions() {
    let h = hsim().await;
    let laptop = h.product_id("Laptop");
    let phone = h.product_id("Phone");
    let u = h.seed("a@example.org");
    let v = h.seed("b@example.org");
    for _ in 0..3 {
        h.sim.state.seed_assignment(&u, &laptop).unwrap();
    }
    h.sim.state.seed_assignment(&u, &phone).unwrap();
    h.sim.state.seed_assignment(&v, &laptop).unwrap();
    let r = h
        .post(
            "/product-assignment/unassign/by-product",
            json!({ "productGUID": laptop, "userGUID": u, "executeActions": true }),
        )
        .await;
    assert!((200..300).contains(&r.status), "{} {}", r.status, r.text);
    let held = by_user(&h, &u).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["productGuid"], json!(phone));
    assert_eq!(by_user(&h, &v).await.len(), 1);
    // Again, with nothing left to remove and executeActions as a string.
    let r = h
        .post(
            "/product-assignment/unassign/by-product",
            json!({ "productGUID": laptop.to_uppercase(), "userGUID": u, "executeActions": "False" }),
        )
        .await;
    assert!((200..300).contains(&r.status), "{}", r.text);
    assert_eq!(
        json!(h.sim.state.unassignments()),
        json!([
            { "productGUID": laptop, "userGUID": u, "executeActions": true, "removed": 3 },
            { "productGUID": laptop, "userGUID": u, "executeActions": false, "removed": 0 },
        ])
    );
    let ghost = "0d94b6e8-27c1-4f3a-8e55-c2a9f7316b04";
    h.post(
        "/product-assignment/unassign/by-product",
        json!({ "productGUID": ghost, "userGUID": u, "executeActions": true }),
    )
    .await
    .assert_error(404, json!({ "message": "Product not found" }));
}
