//! Auth, the envelope, `fields`, and users and students (zermelo.md §2–§5, §7).

use reqwest::Method;
use serde_json::{json, Value};

use super::{read, student, zsim, zsim_with, TOKEN};

#[tokio::test]
async fn a_missing_or_wrong_token_is_a_401_in_the_envelope() {
    let z = zsim().await;
    let r = read(z.http.get(z.api("users")).send().await.unwrap()).await;
    r.assert_error(401, "Unauthorized");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = read(
        z.http
            .get(z.api("users"))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(401, "Unauthorized");
    let r = read(
        z.http
            .get(z.api("users"))
            .header("authorization", format!("bearer {TOKEN}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_envelope(200);
    // A refused request changes nothing.
    let r = read(
        z.http
            .post(z.api("users"))
            .header("content-type", "application/json")
            .body(student("1").to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(401, "Unauthorized");
    assert!(z.sim.state.users().is_empty());
}

#[tokio::test]
async fn every_answer_is_an_envelope_with_an_increasing_event_id() {
    let z = zsim().await;
    let created = z.post("users", student("118204")).await;
    let e1 = created.assert_envelope(201);
    assert_eq!(created.resp()["message"], "");
    assert_eq!(created.resp()["details"], "");
    assert_eq!(created.one()["code"], "118204");

    let one = z.get("users/118204").await;
    let e2 = one.assert_envelope(200);
    assert_eq!(one.resp()["endRow"], 1);
    assert_eq!(one.resp()["totalRows"], 1);

    let missing = z.get("users/118299").await;
    let e3 = missing.assert_envelope(404);
    assert_eq!(missing.resp()["message"], "User 118299 not found");
    assert_eq!(missing.data(), &Vec::<Value>::new());

    let nowhere = z.get("nowhere").await;
    let e4 = nowhere.assert_envelope(404);
    let wrong_method = z.delete("users/118204").await;
    let e5 = wrong_method.assert_envelope(405);
    assert!(
        e1 < e2 && e2 < e3 && e3 < e4 && e4 < e5,
        "{e1} {e2} {e3} {e4} {e5}"
    );
    assert_eq!(z.sim.state.last_event_id(), e5);
}

#[tokio::test]
async fn fields_returns_only_the_members_asked_for() {
    let z = zsim().await;
    z.create(student("118204")).await;
    let r = z
        .get("users/118204?fields=code,isStudent,firstName,lastName,prefix,email")
        .await;
    r.assert_envelope(200);
    assert_eq!(
        r.one(),
        &json!({ "code": "118204", "isStudent": true, "firstName": "Daan",
                 "lastName": "Berg", "prefix": "van der", "email": "118204@leerling.example" })
    );
    let r = z
        .get("users/118204?fields=firstName,lastName,prefix,email")
        .await;
    let keys: Vec<&String> = r.one().as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4);
    assert!(r.one().get("code").is_none() && r.one().get("id").is_none());

    // Without fields: every member.
    let all = z.get("users/118204").await;
    let u = all.one();
    for member in [
        "id",
        "code",
        "firstName",
        "prefix",
        "lastName",
        "email",
        "isStudent",
    ] {
        assert!(u.get(member).is_some(), "{member} missing from {u}");
    }
    assert_eq!(u["archived"], false);

    // The list takes fields too, and so do students and classes.
    let list = z.get("users?fields=code,archived").await;
    list.assert_envelope(200);
    assert_eq!(
        list.data(),
        &vec![json!({ "code": "118204", "archived": false })]
    );
    let s = z.get("students/118204?fields=userCode").await;
    assert_eq!(s.one(), &json!({ "userCode": "118204" }));
    let d = z.get("departmentsofbranches?fields=code").await;
    assert!(d.data().iter().all(|c| c.as_object().unwrap().len() == 1));

    // Unknown fields and other query parameters are refused.
    z.get("users/118204?fields=code,shoeSize")
        .await
        .assert_error(400, "Unknown field: shoeSize");
    z.get("users?code=118204")
        .await
        .assert_error(400, "Unknown query parameter: code");
}

#[tokio::test]
async fn the_user_list_is_refused_with_403_when_list_users_is_off() {
    let z = zsim_with(|c| c.switches.list_users = false).await;
    z.create(student("1")).await;
    z.get("users?fields=code")
        .await
        .assert_error(403, "Forbidden");
    // Single reads still work.
    z.get("users/1").await.assert_envelope(200);
    z.sim.state.update_switches(|s| s.list_users = true);
    assert_eq!(z.get("users").await.data().len(), 1);
}

#[tokio::test]
async fn create_takes_booleans_as_json_or_strings_in_any_case() {
    let z = zsim().await;
    let u = z
        .create(json!({ "code": "a1", "isStudent": "TRUE", "archived": "False" }))
        .await;
    assert_eq!(
        (u["isStudent"].clone(), u["archived"].clone()),
        (json!(true), json!(false))
    );
    let u = z.create(json!({ "code": "a2", "isStudent": "true" })).await;
    assert_eq!(u["isStudent"], true);
    let u = z.create(json!({ "code": "a3", "isStudent": false })).await;
    assert_eq!(u["isStudent"], false);

    // isStudent true created the student record; false did not.
    let s = z.get("students/a1").await;
    s.assert_envelope(200);
    assert_eq!(s.one()["userCode"], "a1");
    assert_eq!(s.one()["studentInDepartments"], json!([]));
    assert!(s.one()["id"].is_u64());
    z.get("students/a3")
        .await
        .assert_error(404, "Student a3 not found");
    assert_eq!(z.sim.state.students().len(), 2);

    z.post("users", json!({ "code": "a4", "isStudent": "yes" }))
        .await
        .assert_error(400, "Invalid value for isStudent");
    assert!(z.sim.state.user("a4").is_none());
}

#[tokio::test]
async fn create_requires_a_unique_code() {
    let z = zsim().await;
    let first = z.create(student("118204")).await;
    let r = z.post("users", student("118204")).await;
    r.assert_error(409, "User 118204 already exists");
    assert_eq!(z.sim.state.users(), vec![first]);

    for body in [
        json!({ "firstName": "X" }),
        json!({ "code": "" }),
        json!({ "code": 5 }),
    ] {
        assert_eq!(z.post("users", body.clone()).await.status, 400, "{body}");
    }
    z.post("users", json!({ "code": "x", "nickName": "X" }))
        .await
        .assert_error(400, "Unknown field: nickName");
    z.post("users", json!(["code"]))
        .await
        .assert_error(400, "The body must be a JSON object");
    let r = z
        .req(Method::POST, "users")
        .header("content-type", "text/plain")
        .body(student("y").to_string())
        .send()
        .await
        .unwrap();
    read(r).await.assert_envelope(415);
    let r = z
        .req(Method::POST, "users")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    read(r).await.assert_error(400, "Invalid JSON");
    assert_eq!(z.sim.state.users().len(), 1);
}

#[tokio::test]
async fn put_merges_only_the_members_sent() {
    let z = zsim().await;
    let before = z.create(student("118204")).await;
    let r = z
        .put(
            "users/118204",
            json!({ "email": "d.vdberg@leerling.example", "code": "118204" }),
        )
        .await;
    r.assert_envelope(200);
    let after = z.get("users/118204").await.one().clone();
    let mut expected = before.clone();
    expected["email"] = json!("d.vdberg@leerling.example");
    assert_eq!(after, expected);

    // `null` empties a text member; `code` cannot change; unknown users are 404.
    z.put("users/118204", json!({ "prefix": null }))
        .await
        .assert_envelope(200);
    assert_eq!(z.sim.state.user("118204").unwrap()["prefix"], "");
    z.put("users/118204", json!({ "code": "999" }))
        .await
        .assert_error(400, "code cannot be changed");
    z.put("users/118299", json!({ "email": "x" }))
        .await
        .assert_error(404, "User 118299 not found");
    z.put("users/118204", json!({ "lastName": 3 }))
        .await
        .assert_error(400, "Invalid value for lastName");
    assert_eq!(z.sim.state.user("118204").unwrap()["lastName"], "Berg");
}

#[tokio::test]
async fn identical_puts_both_succeed() {
    let z = zsim().await;
    z.create(student("1")).await;
    let body = json!({ "firstName": "Noor", "code": "1" });
    z.put("users/1", body.clone()).await.assert_envelope(200);
    let once = z.sim.state.user("1").unwrap();
    z.put("users/1", body).await.assert_envelope(200);
    assert_eq!(z.sim.state.user("1").unwrap(), once);
    assert_eq!(once["firstName"], "Noor");
}

#[tokio::test]
async fn put_is_student_creates_the_missing_student() {
    let z = zsim().await;
    z.create(json!({ "code": "77", "firstName": "Sem" })).await;
    z.get("students/77")
        .await
        .assert_error(404, "Student 77 not found");
    z.put("users/77", json!({ "isStudent": "true" }))
        .await
        .assert_envelope(200);
    let s = z.get("students/77").await;
    assert_eq!(s.one()["userCode"], "77");
    assert_eq!(z.sim.state.user("77").unwrap()["isStudent"], true);
    assert_eq!(z.sim.state.user("77").unwrap()["firstName"], "Sem");
    // Again: still one student record, with the same id.
    let id = s.one()["id"].clone();
    z.put("users/77", json!({ "isStudent": true }))
        .await
        .assert_envelope(200);
    assert_eq!(z.get("students/77").await.one()["id"], id);
    assert_eq!(z.sim.state.students().len(), 1);
}

#[tokio::test]
async fn an_archived_user_stays_readable() {
    let z = zsim().await;
    z.create(student("118204")).await;
    z.put(
        "users/118204",
        json!({ "archived": "true", "code": "118204" }),
    )
    .await
    .assert_envelope(200);
    let r = z.get("users/118204").await;
    r.assert_envelope(200);
    assert_eq!(r.one()["archived"], true);
    assert_eq!(r.one()["lastName"], "Berg");
    let listed = z.get("users?fields=code,archived").await;
    assert_eq!(
        listed.data(),
        &vec![json!({ "code": "118204", "archived": true })]
    );
    // The student record stays, and a returning person is un-archived.
    z.get("students/118204").await.assert_envelope(200);
    z.put("users/118204", json!({ "archived": false }))
        .await
        .assert_envelope(200);
    assert_eq!(z.sim.state.user("118204").unwrap()["archived"], false);
}
