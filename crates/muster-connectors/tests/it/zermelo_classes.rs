//! The Zermelo connector's classes and placements against the simulator: the full read
//! (classes as groups named `<code> / <schoolInSchoolYearName>`, school names with regex
//! characters kept as they are), placements with the configured weight, a placement in an
//! unknown class or of an unknown student, and `read_placements` on and off; and a placement
//! whose answer is lost, settled by the student's placements or, without `read_placements`,
//! by the student record read before and after the POST.

use super::tamper::{self, Verdict};
use super::zermelo_users::{count, exec, harness, seed_student, zermelo_config, Harness, TOKEN};
use hyper::Method;
use muster_connectors::ZermeloConnector;
use muster_core::connector::{Connector, ConnectorError, Observed, Operation, Outcome};
use muster_core::{AccountRef, GroupRef, TargetName};
use muster_sim::ZermeloSim;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn grant(account: &AccountRef, group: &GroupRef) -> Operation {
    Operation::Grant {
        account: account.clone(),
        group: group.clone(),
    }
}

/// The group of class `code` of `school` in `year`, by the simulator's id.
fn class(h: &Harness, school: &str, year: &str, code: &str) -> GroupRef {
    let id = h
        .sim
        .state
        .department_id(school, year, code)
        .unwrap_or_else(|| panic!("no class {code} of {school} {year}"));
    GroupRef::new(id.to_string())
}

fn members(seen: &Observed, group: &GroupRef) -> BTreeSet<String> {
    seen.groups
        .iter()
        .find(|g| &g.reference == group)
        .unwrap_or_else(|| panic!("group {group} not read"))
        .members
        .iter()
        .map(|m| m.as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn the_full_read_names_classes_as_the_engine_does() {
    let h = harness(|_| {}, "").await;
    seed_student(&h, "118204");
    let noord = h
        .sim
        .state
        .seed_department("Lyceum (Noord)+", "2024-2025", "h3a");
    let seen = h.conn.read_all().await.unwrap();

    assert_eq!(seen.accounts.len(), 1);
    let a = &seen.accounts[0];
    assert_eq!(a.reference.as_str(), "118204");
    assert!(a.enabled);
    let keys: Vec<&str> = a.attributes.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "code",
            "email",
            "firstName",
            "isStudent",
            "lastName",
            "prefix"
        ],
        "only the managed attributes, no id or isEmployee"
    );

    assert_eq!(seen.groups.len(), h.sim.state.departments().len());
    let names: BTreeSet<&str> = seen.groups.iter().map(|g| g.name.as_str()).collect();
    for name in [
        "h3a / Lyceum 2024-2025",
        "h3a / Stedelijk Lyceum 2024-2025",
        "h3a / Lyceum 2025-2026",
        "h3a / Lyceum (Noord)+ 2024-2025",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    let g = seen
        .groups
        .iter()
        .find(|g| g.name == "h3a / Lyceum (Noord)+ 2024-2025")
        .unwrap();
    assert_eq!(g.reference.as_str(), noord.to_string());
    assert!(seen.groups.iter().all(|g| g.members.is_empty()));
    // One read of each list, and without `read_placements` the one student's record.
    assert_eq!(count(&h, "GET /users"), 1);
    assert_eq!(count(&h, "GET /departmentsofbranches"), 1);
    assert_eq!(count(&h, "GET /students/{code}"), 1);
    assert_eq!(h.sim.state.total_requests(), 3);
}

#[tokio::test]
async fn a_refused_user_list_fails_the_read_by_name() {
    let h = harness(|s| s.list_users = false, "").await;
    let err = h.conn.read_all().await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ConnectorError::IncompleteRead { .. }),
        "{err:?}"
    );
    assert!(
        !err.stops_target(),
        "the token is fine; the tenant refuses the list"
    );
    assert!(
        text.contains("403") && text.contains("not authorised to list users"),
        "{text}"
    );
}

#[tokio::test]
async fn a_plan_reads_the_users_one_by_one_where_the_list_is_refused() {
    let h = harness(|s| s.list_users = false, "").await;
    seed_student(&h, "118204");
    seed_student(&h, "118205");
    seed_student(&h, "999999");
    let scope = muster_core::connector::ReadScope {
        linked: vec![AccountRef::new("118204")],
        // 118204 again (linked and in the source), 118205, and a person without a user.
        correlation_values: vec!["118204".into(), "118205".into(), "118206".into()],
        ..Default::default()
    };
    let observed = h.conn.read_scoped(&scope).await.unwrap();
    let codes: Vec<&str> = observed
        .accounts
        .iter()
        .map(|a| a.reference.as_str())
        .collect();
    assert_eq!(
        codes,
        ["118204", "118205"],
        "999999 is not in the scope, so not seen"
    );
    assert_eq!(
        count(&h, "GET /users/{code}"),
        3,
        "one read per code, each once"
    );
    let warnings = h.conn.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("refused (403)") && w.contains("one by one")),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn a_grant_places_the_student_with_the_configured_weight() {
    let h = harness(|_| {}, "participation_weight = 0.75").await;
    let account = seed_student(&h, "118204");
    let h3a = class(&h, "Lyceum", "2024-2025", "h3a");
    assert_eq!(
        exec(&h, grant(&account, &h3a)).await.unwrap(),
        Outcome::Done
    );
    let placed = h.sim.state.placements_of("118204");
    assert_eq!(placed.len(), 1, "{placed:?}");
    let p = &placed[0];
    assert_eq!(p["departmentOfBranch"].to_string(), h3a.as_str());
    assert_eq!(p["departmentOfBranchCode"], json!("h3a"));
    assert_eq!(p["participationWeight"], json!(0.75));

    // The default weight is 1, sent as a number, never null.
    let d = harness(|_| {}, "").await;
    let account = seed_student(&d, "118205");
    let h3b = class(&d, "Stedelijk Lyceum", "2024-2025", "h3b");
    exec(&d, grant(&account, &h3b)).await.unwrap();
    let p = &d.sim.state.placements_of("118205")[0];
    assert_eq!(p["participationWeight"].as_f64(), Some(1.0), "{p}");
}

#[tokio::test]
async fn a_class_change_adds_a_placement_and_keeps_the_old_one() {
    let h = harness(|_| {}, "").await;
    let account = seed_student(&h, "118204");
    let h3a = class(&h, "Lyceum", "2024-2025", "h3a");
    let h3b = class(&h, "Lyceum", "2024-2025", "h3b");
    exec(&h, grant(&account, &h3a)).await.unwrap();
    exec(&h, grant(&account, &h3b)).await.unwrap();
    let ids: Vec<String> = h
        .sim
        .state
        .placements_of("118204")
        .iter()
        .map(|p| p["departmentOfBranch"].to_string())
        .collect();
    assert_eq!(ids, [h3a.as_str(), h3b.as_str()]);
    assert_eq!(count(&h, "DELETE /studentsindepartments/{id}"), 0);
}

#[tokio::test]
async fn a_grant_to_an_unknown_class_or_student_says_which_is_gone() {
    let h = harness(|_| {}, "").await;
    let account = seed_student(&h, "118204");
    let err = exec(&h, grant(&account, &GroupRef::new("9999")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::GroupGone { group, .. } if group.as_str() == "9999"),
        "{err:?}"
    );
    let h3a = class(&h, "Lyceum", "2024-2025", "h3a");
    let err = exec(&h, grant(&AccountRef::new("118299"), &h3a))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::AccountGone { account, .. } if account.as_str() == "118299"),
        "{err:?}"
    );
    // A group reference that is no class id never reaches Zermelo.
    let before = h.sim.state.total_requests();
    let err = exec(
        &h,
        grant(&account, &GroupRef::new("h3a / Lyceum 2024-2025")),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectorError::Config { .. }), "{err:?}");
    assert_eq!(h.sim.state.total_requests(), before);
    assert!(h.sim.state.placements().is_empty());
}

/// Two students (one in two classes), a teacher, and placements made outside Muster.
fn seed_placements(h: &Harness) -> (GroupRef, GroupRef) {
    seed_student(h, "118204");
    seed_student(h, "118205");
    h.sim
        .state
        .seed_user(json!({ "code": "t.jansen", "isStudent": false }))
        .unwrap();
    let h3a = class(h, "Lyceum", "2024-2025", "h3a");
    let v4a = class(h, "Lyceum", "2025-2026", "v4a");
    for (student, group) in [("118204", &h3a), ("118204", &v4a), ("118205", &h3a)] {
        let id: u64 = group.as_str().parse().unwrap();
        h.sim.state.seed_placement(student, id, Some(1.0)).unwrap();
    }
    (h3a, v4a)
}

#[tokio::test]
async fn without_read_placements_the_student_records_give_the_members() {
    let h = harness(|s| s.placement_read = true, "").await;
    let (h3a, v4a) = seed_placements(&h);
    // An import reads every student's record; the teacher has none.
    let seen = h.conn.read_all().await.unwrap();
    assert_eq!(
        members(&seen, &h3a),
        BTreeSet::from(["118204".into(), "118205".into()])
    );
    assert_eq!(members(&seen, &v4a), BTreeSet::from(["118204".into()]));
    assert!(
        !h.conn.capabilities().membership_visible,
        "not every shape shows classes"
    );
    assert_eq!(count(&h, "GET /studentsindepartments"), 0);
    assert_eq!(count(&h, "GET /students/{code}"), 2);
    // A plan reads only the records of the persons it looks at.
    let scope = muster_core::connector::ReadScope {
        correlation_values: vec!["118205".into()],
        ..Default::default()
    };
    let seen = h.conn.read_scoped(&scope).await.unwrap();
    assert_eq!(members(&seen, &h3a), BTreeSet::from(["118205".into()]));
    assert!(members(&seen, &v4a).is_empty());
    assert_eq!(count(&h, "GET /students/{code}"), 3);
}

#[tokio::test]
async fn a_grant_in_a_class_the_student_record_already_lists_sends_nothing() {
    let h = harness(|_| {}, "").await;
    let (h3a, _) = seed_placements(&h);
    let outcome = exec(&h, grant(&AccountRef::new("118205"), &h3a))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Done);
    assert_eq!(
        h.sim.state.placements_of("118205").len(),
        1,
        "not placed twice"
    );
    assert_eq!(count(&h, "POST /studentsindepartments"), 0);
}

fn revoke(account: &str, group: &GroupRef) -> Operation {
    Operation::Revoke {
        account: AccountRef::new(account),
        group: group.clone(),
    }
}

#[tokio::test]
async fn with_previous_class_delete_a_revoke_deletes_that_class_placement_only() {
    let h = harness(
        |s| s.placement_delete = true,
        "previous_class = \"delete\"\n",
    )
    .await;
    let (h3a, v4a) = seed_placements(&h);
    let outcome = exec(&h, revoke("118204", &h3a)).await.unwrap();
    assert_eq!(outcome, Outcome::Done);
    let left: Vec<String> = h
        .sim
        .state
        .placements_of("118204")
        .iter()
        .map(|p| p["departmentOfBranch"].to_string())
        .collect();
    assert_eq!(left, [v4a.as_str()], "last year's stays");
    assert_eq!(
        h.sim.state.placements_of("118205").len(),
        1,
        "others untouched"
    );
    // Again: nothing left to delete.
    let again = exec(&h, revoke("118204", &h3a)).await.unwrap();
    assert_eq!(again, Outcome::AlreadyAbsent);
    assert_eq!(count(&h, "DELETE /studentsindepartments/{id}"), 1);
}

#[tokio::test]
async fn a_tenant_that_refuses_the_delete_fails_only_that_revoke_and_says_what_to_set() {
    let h = harness(|_| {}, "previous_class = \"delete\"\n").await;
    let (h3a, _) = seed_placements(&h);
    let err = exec(&h, revoke("118204", &h3a)).await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Rejected { status: 403, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("previous_class = \"keep\""),
        "{err}"
    );
    assert_eq!(h.sim.state.placements_of("118204").len(), 2);
}

#[tokio::test]
async fn with_previous_class_keep_no_revoke_is_sent() {
    let h = harness(|s| s.placement_delete = true, "").await;
    let (h3a, _) = seed_placements(&h);
    let err = exec(&h, revoke("118204", &h3a)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Config { .. }), "{err:?}");
    assert_eq!(count(&h, "DELETE /studentsindepartments/{id}"), 0);
}

#[tokio::test]
async fn with_read_placements_each_students_placements_are_members() {
    let h = harness(|s| s.placement_read = true, "read_placements = true").await;
    let (h3a, v4a) = seed_placements(&h);
    let seen = h.conn.read_all().await.unwrap();
    assert_eq!(
        members(&seen, &h3a),
        BTreeSet::from(["118204".to_owned(), "118205".to_owned()])
    );
    assert_eq!(members(&seen, &v4a), BTreeSet::from(["118204".to_owned()]));
    assert_eq!(
        count(&h, "GET /studentsindepartments"),
        2,
        "one read per student, none for the teacher"
    );
    assert!(h.conn.warnings().is_empty(), "{:?}", h.conn.warnings());
}

#[tokio::test]
async fn read_placements_against_a_tenant_that_refuses_it_fails_the_read() {
    let h = harness(|s| s.placement_read = false, "read_placements = true").await;
    seed_placements(&h);
    let err = h.conn.read_all().await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ConnectorError::IncompleteRead { .. }),
        "{err:?}"
    );
    assert!(
        text.contains("read_placements") && text.contains("403"),
        "{text}"
    );
}

/// Turns `change` on in the simulator once the placement POST has reached it.
async fn once_posted(h: &Harness, change: impl FnOnce(&mut muster_sim::ZermeloSwitches)) {
    for _ in 0..2000 {
        if count(h, "POST /studentsindepartments") > 0 {
            h.sim.state.update_switches(change);
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the placement was never posted");
}

#[tokio::test]
async fn an_uncertain_placement_that_landed_is_done_after_a_re_read() {
    // The POST is applied, then answered after the client gave up.
    let h = harness(
        |s| {
            s.placement_read = true;
            s.faults.hang_ms = 3000;
            s.faults.hang_ratio = 1.0;
        },
        "read_placements = true\ntimeout_s = 1",
    )
    .await;
    let account = seed_student(&h, "118204");
    let h3a = class(&h, "Lyceum", "2024-2025", "h3a");
    let (out, ()) = tokio::join!(
        exec(&h, grant(&account, &h3a)),
        once_posted(&h, |s| s.faults.hang_ratio = 0.0)
    );
    assert_eq!(out.unwrap(), Outcome::Done);
    assert_eq!(h.sim.state.placements_of("118204").len(), 1, "placed once");
    assert_eq!(
        count(&h, "POST /studentsindepartments"),
        1,
        "never re-posted"
    );
    assert_eq!(count(&h, "GET /studentsindepartments"), 1);
}

#[tokio::test]
async fn an_uncertain_placement_that_did_not_land_stays_uncertain() {
    let h = harness(
        |s| {
            s.placement_read = true;
            s.faults.error_5xx_ratio = 1.0;
            s.faults.retry_after = false;
        },
        "read_placements = true\nmax_attempts = 5",
    )
    .await;
    let account = seed_student(&h, "118204");
    let h3a = class(&h, "Lyceum", "2024-2025", "h3a");
    let (out, ()) = tokio::join!(
        exec(&h, grant(&account, &h3a)),
        once_posted(&h, |s| s.faults.error_5xx_ratio = 0.0)
    );
    let err = out.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(
        err.to_string().contains("do not hold it"),
        "the re-read found nothing: {err}"
    );
    assert!(h.sim.state.placements().is_empty());
    assert_eq!(count(&h, "POST /studentsindepartments"), 1);
}

#[tokio::test]
async fn without_read_placements_or_a_readable_student_an_uncertain_placement_stays_uncertain() {
    // Every answer fails after applying, the student record reads too.
    let h = harness(|s| s.faults.error_5xx_after_apply_ratio = 1.0, "").await;
    let account = seed_student(&h, "118204");
    let h3a = class(&h, "Lyceum", "2024-2025", "h3a");
    let err = exec(&h, grant(&account, &h3a)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Uncertain { .. }), "{err:?}");
    // It did land: a blind retry would place the student twice, which is why the engine, not
    // the connector, decides about retrying.
    let placed: Vec<Value> = h.sim.state.placements_of("118204");
    assert_eq!(placed.len(), 1);
    assert_eq!(count(&h, "POST /studentsindepartments"), 1);
    // The record could not be read before the POST, so it is not read after it either.
    assert_eq!(
        count(&h, "GET /students/{code}"),
        3,
        "max_attempts of one read"
    );
}

// ----- without read_placements: the student record settles an unknown outcome ------------------

const PLACEMENT_POST: &str = "/api/v3/studentsindepartments";
const STUDENT_READ: &str = "/api/v3/students/";

/// A connector to `h`'s simulator through `hook` (see [`tamper`]), without `read_placements`.
async fn tampered(h: &Harness, hook: tamper::Hook) -> ZermeloConnector {
    let base = tamper::serve(ZermeloSim::app(h.sim.state.clone()), hook).await;
    let cfg = zermelo_config(&base, TOKEN, h.dir.path(), "");
    ZermeloConnector::connect(TargetName::new("zermelo"), &cfg).unwrap()
}

/// Whether this exchange is the placement POST, after the simulator applied it.
fn placement_applied(method: &Method, path: &str, after: Option<(u16, &str)>) -> bool {
    *method == Method::POST && path.starts_with(PLACEMENT_POST) && after.is_some()
}

#[tokio::test]
async fn without_read_placements_a_lost_answer_is_settled_by_the_student_record() {
    let h = harness(|_| {}, "").await;
    let account = seed_student(&h, "118204");
    let h3a = class(&h, "Lyceum", "2024-2025", "h3a");
    // Placed in the class once already, outside Muster (last year's run, another client): the
    // ids held before the POST are what counts, not the class.
    let h3b = class(&h, "Lyceum", "2024-2025", "h3b");
    h.sim
        .state
        .seed_placement("118204", h3b.as_str().parse().unwrap(), None)
        .unwrap();
    let conn = tampered(
        &h,
        Arc::new(|method: &Method, path: &str, after: Option<(u16, &str)>| {
            if placement_applied(method, path, after) {
                Verdict::Drop
            } else {
                Verdict::Pass
            }
        }),
    )
    .await;
    let out = conn.execute(&grant(&account, &h3a)).await;
    assert_eq!(out.unwrap(), Outcome::Done);
    assert_eq!(h.sim.state.placements_of("118204").len(), 2, "placed once");
    assert_eq!(
        count(&h, "POST /studentsindepartments"),
        1,
        "never re-posted"
    );
    // Once before the POST, once after it.
    assert_eq!(count(&h, "GET /students/{code}"), 2);
    assert_eq!(count(&h, "GET /studentsindepartments"), 0);
}

#[tokio::test]
async fn without_read_placements_a_placement_that_did_not_land_stays_uncertain() {
    let h = harness(|_| {}, "").await;
    let account = seed_student(&h, "118204");
    let h3a = class(&h, "Lyceum", "2024-2025", "h3a");
    // The connection closes before the simulator sees the POST.
    let conn = tampered(
        &h,
        Arc::new(|method: &Method, path: &str, _: Option<(u16, &str)>| {
            if *method == Method::POST && path.starts_with(PLACEMENT_POST) {
                Verdict::Drop
            } else {
                Verdict::Pass
            }
        }),
    )
    .await;
    let err = conn.execute(&grant(&account, &h3a)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Uncertain { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("lists no placement that was not there before the POST"),
        "{err}"
    );
    assert!(h.sim.state.placements().is_empty());
    assert_eq!(count(&h, "GET /students/{code}"), 2);
}

#[tokio::test]
async fn placements_listed_as_objects_with_an_id_are_read_as_well() {
    let h = harness(|_| {}, "").await;
    let account = seed_student(&h, "118204");
    let h3a = class(&h, "Lyceum", "2024-2025", "h3a");
    let h3b = class(&h, "Lyceum", "2024-2025", "h3b");
    h.sim
        .state
        .seed_placement("118204", h3b.as_str().parse().unwrap(), None)
        .unwrap();
    // The student record answers `studentInDepartments` as objects, ids as strings.
    let conn = tampered(
        &h,
        Arc::new(|method: &Method, path: &str, after: Option<(u16, &str)>| {
            if placement_applied(method, path, after) {
                return Verdict::Drop;
            }
            match after {
                Some((200, body)) if path.starts_with(STUDENT_READ) => {
                    let mut v: Value = serde_json::from_str(body).unwrap();
                    let student = &mut v["response"]["data"][0];
                    let listed = student["studentInDepartments"].as_array().unwrap().clone();
                    student["studentInDepartments"] = listed
                        .iter()
                        .map(|p| json!({ "id": p["id"].to_string() }))
                        .collect();
                    Verdict::Answer(200, v.to_string())
                }
                _ => Verdict::Pass,
            }
        }),
    )
    .await;
    assert_eq!(
        conn.execute(&grant(&account, &h3a)).await.unwrap(),
        Outcome::Done
    );
    assert_eq!(h.sim.state.placements_of("118204").len(), 2);
}

#[tokio::test]
async fn a_new_placement_in_another_class_is_not_taken_for_the_lost_one() {
    let h = harness(|_| {}, "").await;
    let account = seed_student(&h, "118204");
    let h3a = class(&h, "Lyceum", "2024-2025", "h3a");
    let h3b: u64 = class(&h, "Lyceum", "2024-2025", "h3b")
        .as_str()
        .parse()
        .unwrap();
    let state = h.sim.state.clone();
    // Muster's POST never arrives; meanwhile another client places the student in h3b. The
    // record lists placements as objects that name their class.
    let conn = tampered(
        &h,
        Arc::new(move |method: &Method, path: &str, after: Option<(u16, &str)>| {
            if *method == Method::POST && path.starts_with(PLACEMENT_POST) {
                state.seed_placement("118204", h3b, None).unwrap();
                return Verdict::Drop;
            }
            match after {
                Some((200, body)) if path.starts_with(STUDENT_READ) => {
                    let mut v: Value = serde_json::from_str(body).unwrap();
                    v["response"]["data"][0]["studentInDepartments"] = state
                        .placements_of("118204")
                        .iter()
                        .map(|p| json!({ "id": p["id"], "departmentOfBranch": p["departmentOfBranch"] }))
                        .collect();
                    Verdict::Answer(200, v.to_string())
                }
                _ => Verdict::Pass,
            }
        }),
    )
    .await;
    let err = conn.execute(&grant(&account, &h3a)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Uncertain { .. }), "{err:?}");
    assert!(err.to_string().contains("lists no placement"), "{err}");
    let placed = h.sim.state.placements_of("118204");
    assert_eq!(placed.len(), 1);
    assert_eq!(placed[0]["departmentOfBranch"], json!(h3b));
}

#[tokio::test]
async fn a_failed_read_of_the_student_record_leaves_the_placement_uncertain() {
    for fail_before in [true, false] {
        let h = harness(|_| {}, "").await;
        let account = seed_student(&h, "118204");
        let h3a = class(&h, "Lyceum", "2024-2025", "h3a");
        let posted = Arc::new(AtomicBool::new(false));
        let reads_after = Arc::new(AtomicUsize::new(0));
        let (p, r) = (posted.clone(), reads_after.clone());
        let conn = tampered(
            &h,
            Arc::new(move |method: &Method, path: &str, after: Option<(u16, &str)>| {
                if placement_applied(method, path, after) {
                    p.store(true, Ordering::SeqCst);
                    return Verdict::Drop;
                }
                let is_read = path.starts_with(STUDENT_READ) && after.is_none();
                let now_posted = p.load(Ordering::SeqCst);
                if is_read && now_posted {
                    r.fetch_add(1, Ordering::SeqCst);
                }
                if is_read && now_posted != fail_before {
                    let body = json!({ "response": { "status": 500, "message": "Internal Server Error",
                        "details": "", "eventId": 1, "data": [] } });
                    Verdict::Answer(500, body.to_string())
                } else {
                    Verdict::Pass
                }
            }),
        )
        .await;
        let err = conn.execute(&grant(&account, &h3a)).await.unwrap_err();
        assert!(matches!(err, ConnectorError::Uncertain { .. }), "{err:?}");
        // It landed, but nothing could show it.
        assert_eq!(h.sim.state.placements_of("118204").len(), 1);
        assert_eq!(count(&h, "POST /studentsindepartments"), 1);
        if fail_before {
            // No list to compare with: the record is not read again.
            assert_eq!(reads_after.load(Ordering::SeqCst), 0);
        } else {
            assert!(
                err.to_string()
                    .contains("reading the student record again failed"),
                "{err}"
            );
        }
    }
}

#[tokio::test]
async fn a_record_listing_placements_without_their_class_is_reported_not_guessed() {
    let h = harness(|_| {}, "").await;
    let (h3a, v4a) = seed_placements(&h);
    // The student record answers `studentInDepartments` as bare ids.
    let conn = tampered(
        &h,
        Arc::new(
            |_: &Method, path: &str, after: Option<(u16, &str)>| match after {
                Some((200, body)) if path.starts_with(STUDENT_READ) => {
                    let mut v: Value = serde_json::from_str(body).unwrap();
                    let student = &mut v["response"]["data"][0];
                    let listed = student["studentInDepartments"].as_array().unwrap().clone();
                    student["studentInDepartments"] =
                        listed.iter().map(|p| p["id"].clone()).collect();
                    Verdict::Answer(200, v.to_string())
                }
                _ => Verdict::Pass,
            },
        ),
    )
    .await;
    let seen = conn.read_all().await.unwrap();
    assert!(members(&seen, &h3a).is_empty() && members(&seen, &v4a).is_empty());
    let warnings = conn.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("cannot read by class") && w.contains("read_placements")),
        "{warnings:?}"
    );
}
