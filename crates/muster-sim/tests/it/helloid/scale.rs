//! 5,000 users, a 5,000-member group and thousands of assignments (issue 14, item 3): the
//! indexed paths — `skip` found through the live and deleted orders, look-ups by GUID and name,
//! membership changes in place, assignments listed and removed through the per-user index —
//! give exactly what a scan would, after soft deletes, renames and unassignments.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::{hsim, items, H};

const USERS: usize = 5_000;

fn name(i: usize) -> String {
    format!("p{i:05}@example.org")
}

fn field(list: &[Value], key: &str) -> Vec<String> {
    list.iter()
        .map(|v| v[key].as_str().unwrap().to_string())
        .collect()
}

/// `(userGuid, productGuid)` of each assignment listed.
fn pairs(list: &[Value]) -> Vec<(String, String)> {
    field(list, "userGuid")
        .into_iter()
        .zip(field(list, "productGuid"))
        .collect()
}

async fn members(h: &H, group: &str) -> Vec<String> {
    let r = h.get(&format!("/groups/{group}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn five_thousand_users_page_look_up_and_keep_memberships_and_assignments_exactly() {
    let h = hsim().await;
    let state = &h.sim.state;
    let guids: Vec<String> = (0..USERS).map(|i| h.seed(&name(i))).collect();
    let everyone = state.seed_group("Everyone");
    let laptop = h.product_id("Laptop");
    let phone = h.product_id("Phone");
    let mut assigned = Vec::new();
    for (i, g) in guids.iter().enumerate() {
        state.add_member(g, &everyone).unwrap();
        if i % 2 == 0 {
            state.seed_assignment(g, &laptop).unwrap();
            assigned.push((g.clone(), laptop.clone()));
        }
        if i % 5 == 0 {
            state.seed_assignment(g, &phone).unwrap();
            assigned.push((g.clone(), phone.clone()));
        }
    }
    // Every 7th soft-deleted, a few over HTTP.
    let deleted: Vec<usize> = (0..USERS).step_by(7).collect();
    for &i in &deleted {
        if i % 1000 == 0 {
            assert_eq!(h.delete(&format!("/users/{}", guids[i])).await.status, 204);
        } else {
            state.delete_user(&guids[i]).unwrap();
        }
    }
    let live: Vec<usize> = (0..USERS).filter(|i| i % 7 != 0).collect();
    let live_names: Vec<String> = live.iter().map(|&i| name(i)).collect();
    let live_guids: Vec<String> = live.iter().map(|&i| guids[i].clone()).collect();

    // Both lists, every user exactly once, in creation order, whatever the page size.
    let (all, _) = h.read_all("/users", "", 999).await;
    assert_eq!(field(&all, "userName"), live_names);
    let (all, _) = h.read_all("/users", "", 1).await;
    assert_eq!(all.len(), live.len());
    let (gone, _) = h.read_all("/users", "isDeleted=true&", 250).await;
    let deleted_names: Vec<String> = deleted.iter().map(|&i| name(i)).collect();
    assert_eq!(field(&gone, "userName"), deleted_names);
    let r = h.get(&format!("/users?skip={}&take=10", live.len())).await;
    assert_eq!(items(&r.body), Vec::<Value>::new());

    // Look-ups by GUID and by name, deleted ones not found, a rename moving the name.
    let one = &guids[1];
    let r = h.get(&format!("/users/{}", name(1).to_uppercase())).await;
    assert_eq!(r.body["userGUID"], json!(one));
    assert_eq!(h.get(&format!("/users/{}", guids[7])).await.status, 404);
    assert_eq!(h.get(&format!("/users/{}", name(14))).await.status, 404);
    let r = h
        .put(
            &format!("/users/{one}"),
            json!({ "IdentifierObject": { "userName": "moved@example.org" } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(h.get(&format!("/users/{}", name(1))).await.status, 404);
    let r = h.get("/users/moved@example.org").await;
    assert_eq!(r.body["userGUID"], json!(one));

    // The group shows its live members; a revoke and a re-grant move only that member.
    assert_eq!(members(&h, &everyone).await, live_guids);
    let r = h
        .delete(&format!("/users/{}/groups/{everyone}", guids[2]))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = h
        .post(
            &format!("/users/{}/groups", guids[2]),
            json!({ "groupGuid": everyone }),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let mut want = live_guids.clone();
    want.retain(|g| *g != guids[2]);
    want.push(guids[2].clone());
    assert_eq!(members(&h, &everyone).await, want);

    // Assignments: deleted users' hidden, paged exactly; per user through the index.
    let gone_guids: HashSet<&String> = deleted.iter().map(|&i| &guids[i]).collect();
    assigned.retain(|(user, _)| !gone_guids.contains(user));
    let (listed, _) = h.read_all("/product-assignment", "", 700).await;
    assert_eq!(pairs(&listed), assigned);
    let r = h
        .get(&format!("/product-assignment/by-user/{}", guids[10]))
        .await;
    let theirs = vec![
        (guids[10].clone(), laptop.clone()),
        (guids[10].clone(), phone.clone()),
    ];
    assert_eq!(pairs(&items(&r.body)), theirs);
    let r = h
        .get(&format!("/product-assignment/by-user/{}", guids[70]))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);

    // Unassigning one product of one user removes that pair only.
    let r = h
        .post(
            "/product-assignment/unassign/by-product",
            json!({ "productGUID": laptop, "userGUID": guids[10], "executeActions": true }),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assigned.retain(|p| *p != (guids[10].clone(), laptop.clone()));
    let (listed, _) = h.read_all("/product-assignment", "", 1000).await;
    assert_eq!(pairs(&listed), assigned);
    let r = h
        .get(&format!("/product-assignment/by-user/{}", guids[10]))
        .await;
    assert_eq!(pairs(&items(&r.body)), theirs[1..].to_vec());
    assert_eq!(state.unassignments()[0]["removed"], json!(1));
}
