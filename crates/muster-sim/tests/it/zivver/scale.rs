//! 5,000 users and a 5,000-member functional account (issue 14, item 3): the indexed paths —
//! paging off the creation order, `userName` look-ups, membership changes in place, a delete
//! leaving every group — give exactly what a scan would, after creates, renames and deletes.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::{enc, member_ids, user, zsim_with, Z};

const USERS: usize = 5_000;

fn name(i: usize) -> String {
    format!("u{i:05}@example.org")
}

/// Every user read with `startIndex`/`count` pages of `count`, checking `totalResults` and
/// `startIndex` of each page; ids in the order served.
async fn walk(z: &Z, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut start = 1;
    loop {
        let r = z
            .get(&format!("/Users?startIndex={start}&count={count}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["startIndex"], json!(start));
        let total = r.body["totalResults"].as_u64().unwrap() as usize;
        let page = r.body["Resources"].as_array().unwrap();
        assert_eq!(r.body["itemsPerPage"], json!(page.len()));
        ids.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        if page.len() < count {
            assert_eq!(ids.len(), total);
            return ids;
        }
        start += count;
    }
}

async fn find(z: &Z, user_name: &str) -> Vec<String> {
    let filter = enc(&format!("userName eq \"{user_name}\""));
    let r = z.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn five_thousand_users_page_look_up_and_leave_groups_exactly() {
    let z = zsim_with(|c| {
        c.switches.honour_paging = true;
        c.switches.membership_add_remove = true;
    })
    .await;
    let mut ids: Vec<String> = (0..USERS)
        .map(|i| z.sim.state.seed_user(user(&name(i))).unwrap())
        .collect();
    let everyone: Vec<&str> = ids.iter().map(String::as_str).collect();
    let big = z.group("Everyone", &everyone);
    let small = z.group("Few", &everyone[..10]);

    // Every user exactly once, in creation order, whatever the page size.
    assert_eq!(walk(&z, 700).await, ids);
    assert_eq!(walk(&z, 1).await.len(), USERS);
    let past = z
        .get(&format!("/Users?startIndex={}&count=5", USERS + 3))
        .await;
    assert_eq!(past.body["totalResults"], json!(USERS));
    assert_eq!(past.body["Resources"], json!([]));

    // Deletes over HTTP: gone from the pages, the look-ups and both groups.
    let gone: Vec<String> = ids.iter().step_by(97).cloned().collect();
    for id in &gone {
        assert_eq!(z.delete(&format!("/Users/{id}")).await.status, 204);
    }
    let gone_set: HashSet<&String> = gone.iter().collect();
    ids.retain(|id| !gone_set.contains(id));
    assert_eq!(walk(&z, 333).await, ids);
    assert!(find(&z, &name(0)).await.is_empty());
    assert_eq!(find(&z, &name(1).to_uppercase()).await, [ids[0].clone()]);
    assert_eq!(z.members(&big).await, ids);
    assert_eq!(z.members(&small).await, ids[..9].to_vec());

    // A create goes last; a rename moves the look-up, not the place in the list.
    let new = z.create(user("late@example.org")).await;
    ids.push(new.clone());
    let renamed = ids[100].clone();
    let old_name = z.sim.state.user(&renamed).unwrap()["userName"].clone();
    let mut body = user("renamed@example.org");
    body["id"] = json!(renamed);
    assert_eq!(z.put(&format!("/Users/{renamed}"), body).await.status, 200);
    assert_eq!(find(&z, "renamed@example.org").await, [renamed.as_str()]);
    assert!(find(&z, old_name.as_str().unwrap()).await.is_empty());
    assert_eq!(find(&z, "late@example.org").await, [new.as_str()]);
    assert_eq!(walk(&z, 1000).await, ids);

    // Membership add and filtered remove change that member only, in place.
    let r = z
        .patch(
            &big,
            json!([
                { "op": "remove", "path": format!("members[value eq \"{}\"]", ids[5]) },
                { "op": "add", "path": "members", "value": [{ "value": new }, { "value": ids[5] }] },
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut want: Vec<String> = ids[..ids.len() - 1].to_vec();
    want.remove(5);
    want.push(new.clone());
    want.push(ids[5].clone());
    assert_eq!(member_ids(&r.body), want);

    // A refused PATCH (an unknown id in its second operation) changes nothing.
    let r = z
        .patch(
            &big,
            json!([
                { "op": "remove", "path": format!("members[value eq \"{}\"]", ids[7]) },
                { "op": "add", "path": "members", "value": [{ "value": "no-such-id" }] },
            ]),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(z.members(&big).await, want);

    // After a replace, the old members' deletes leave the group alone; the new ones' do not.
    let r = z
        .patch(
            &small,
            json!([{ "op": "replace", "path": "members",
                     "value": [{ "value": ids[4000] }, { "value": ids[4001] }] }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for id in [&ids[0], &ids[4001]] {
        assert_eq!(z.delete(&format!("/Users/{id}")).await.status, 204);
    }
    assert_eq!(z.members(&small).await, [ids[4000].clone()]);
    let members: Vec<String> = z.members(&big).await;
    assert_eq!(members.len(), want.len() - 2);
    assert!(!members.contains(&ids[0]) && !members.contains(&ids[4001]));
    let users: Vec<Value> = z.sim.state.users();
    assert_eq!(users.len(), ids.len() - 2);
}
