//! Classes and class placements (zermelo.md §3–§5, §7), and the placement switches.

use std::collections::BTreeSet;

use muster_sim::ZermeloSchoolYear;
use serde_json::{json, Value};

use super::{student, zsim, zsim_with, Zm};

async fn with_student(code: &str) -> Zm {
    let z = zsim().await;
    z.create(student(code)).await;
    z
}

#[tokio::test]
async fn the_default_classes_span_two_years_and_a_school_name_inside_another() {
    let z = zsim().await;
    let r = z.get("departmentsofbranches").await;
    r.assert_envelope(200);
    let classes = r.data();
    let names: BTreeSet<&str> = classes
        .iter()
        .map(|c| c["schoolInSchoolYearName"].as_str().unwrap())
        .collect();
    for name in [
        "Lyceum 2024-2025",
        "Lyceum 2025-2026",
        "Stedelijk Lyceum 2024-2025",
        "Stedelijk Lyceum 2025-2026",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    let h3a_2024: Vec<&Value> = classes
        .iter()
        .filter(|c| {
            c["code"] == "h3a"
                && c["schoolInSchoolYearName"]
                    .as_str()
                    .unwrap()
                    .ends_with("2024-2025")
        })
        .collect();
    assert_eq!(h3a_2024.len(), 2, "h3a in both schools");
    assert_ne!(h3a_2024[0]["id"], h3a_2024[1]["id"]);
    assert!(classes.iter().any(|c| c["code"] == "v4a"));

    // Ids are unique; one SchoolInSchoolYear id per name.
    let ids: BTreeSet<u64> = classes.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), classes.len());
    for c in classes {
        let mut same_name = classes
            .iter()
            .filter(|d| d["schoolInSchoolYearName"] == c["schoolInSchoolYearName"]);
        assert!(same_name.all(|d| d["schoolInSchoolYearId"] == c["schoolInSchoolYearId"]));
        assert_eq!(c.as_object().unwrap().len(), 4, "{c}");
    }
    assert_eq!(
        z.sim.state.department_id("LYCEUM", "2024-2025", "H3A"),
        classes
            .iter()
            .find(|c| c["code"] == "h3a" && c["schoolInSchoolYearName"] == "Lyceum 2024-2025")
            .and_then(|c| c["id"].as_u64())
    );
}

#[tokio::test]
async fn classes_come_from_the_configuration() {
    let z = zsim_with(|c| {
        c.departments = vec![ZermeloSchoolYear::new("College", "2030-2031", &["x1"])];
    })
    .await;
    let r = z.get("departmentsofbranches").await;
    assert_eq!(r.data().len(), 1);
    assert_eq!(r.one()["schoolInSchoolYearName"], "College 2030-2031");
    let id = z.sim.state.seed_department("College", "2030-2031", "x2");
    assert_eq!(z.get("departmentsofbranches").await.data()[1]["id"], id);
}

#[tokio::test]
async fn a_placement_is_appended_and_returned_with_a_new_id() {
    let z = with_student("118204").await;
    let h3a = z.class("Lyceum", "2024-2025", "h3a");
    let h3b = z.class("Lyceum", "2024-2025", "h3b");
    let r = z
        .post(
            "studentsindepartments",
            json!({ "departmentOfBranch": h3a, "student": "118204", "participationWeight": 1.00 }),
        )
        .await;
    r.assert_envelope(201);
    let first = r.one().clone();
    assert!(first["id"].is_u64(), "{first}");
    assert_eq!(first["student"], "118204");
    assert_eq!(first["departmentOfBranch"], h3a);
    assert_eq!(first["departmentOfBranchCode"], "h3a");
    assert_eq!(first["participationWeight"], 1.0);

    // A class change only adds: the earlier placement stays.
    let second = z
        .post(
            "studentsindepartments",
            json!({ "departmentOfBranch": h3b, "student": "118204", "participationWeight": 0.25 }),
        )
        .await
        .one()
        .clone();
    assert_ne!(second["id"], first["id"]);
    assert_eq!(second["participationWeight"], 0.25);
    // null, as the public connector sends it, is kept; left out means 1.00.
    let third = z
        .post(
            "studentsindepartments",
            json!({ "departmentOfBranch": h3b, "student": "118204", "participationWeight": null }),
        )
        .await
        .one()
        .clone();
    assert_eq!(third["participationWeight"], Value::Null);
    let fourth = z
        .post(
            "studentsindepartments",
            json!({ "departmentOfBranch": h3a.to_string(), "student": "118204" }),
        )
        .await
        .one()
        .clone();
    assert_eq!(fourth["participationWeight"], 1.0);

    let all = z.sim.state.placements_of("118204");
    assert_eq!(
        all,
        vec![first.clone(), second.clone(), third.clone(), fourth.clone()]
    );
    let s = z.get("students/118204").await;
    assert_eq!(
        s.one()["studentInDepartments"],
        json!([first, second, third, fourth]),
        "the student record lists its placements, each with its class"
    );
}

#[tokio::test]
async fn placements_are_refused_for_arrays_and_unknown_students_or_classes() {
    let z = with_student("1").await;
    let a = z.class("Lyceum", "2024-2025", "h3a");
    let b = z.class("Stedelijk Lyceum", "2024-2025", "h3a");
    let r = z
        .post(
            "studentsindepartments",
            json!({ "departmentOfBranch": [a, b], "student": "1", "participationWeight": null }),
        )
        .await;
    r.assert_error(400, "Invalid value for departmentOfBranch");
    assert!(r.resp()["details"].as_str().unwrap().contains("array"));

    z.post(
        "studentsindepartments",
        json!({ "departmentOfBranch": a, "student": "118299" }),
    )
    .await
    .assert_error(404, "Student 118299 not found");
    z.post(
        "studentsindepartments",
        json!({ "departmentOfBranch": 999_999, "student": "1" }),
    )
    .await
    .assert_error(404, "DepartmentOfBranch 999999 not found");
    // A user without a student record cannot be placed.
    z.create(json!({ "code": "2" })).await;
    z.post(
        "studentsindepartments",
        json!({ "departmentOfBranch": a, "student": "2" }),
    )
    .await
    .assert_error(404, "Student 2 not found");
    for body in [
        json!({ "student": "1" }),
        json!({ "departmentOfBranch": a }),
        json!({ "departmentOfBranch": a, "student": "1", "participationWeight": "heavy" }),
        json!({ "departmentOfBranch": a, "student": "1", "participationWeight": -1 }),
        json!({ "departmentOfBranch": a, "student": "1", "schoolYear": "2024-2025" }),
    ] {
        assert_eq!(
            z.post("studentsindepartments", body.clone()).await.status,
            400,
            "{body}"
        );
    }
    assert!(z.sim.state.placements().is_empty());
}

#[tokio::test]
async fn reading_placements_needs_placement_read() {
    let z = with_student("1").await;
    let h3a = z.class("Lyceum", "2025-2026", "h3a");
    let id = z.sim.state.seed_placement("1", h3a, Some(1.0)).unwrap();
    z.get("studentsindepartments?student=1")
        .await
        .assert_error(403, "Forbidden");

    z.sim.state.update_switches(|s| s.placement_read = true);
    let r = z.get("studentsindepartments?student=1").await;
    r.assert_envelope(200);
    assert_eq!(r.one()["id"], id);
    assert_eq!(r.one()["departmentOfBranch"], h3a);
    let none = z.get("studentsindepartments?student=2").await;
    none.assert_envelope(200);
    assert!(none.data().is_empty());
    let r = z
        .get("studentsindepartments?student=1&fields=id,departmentOfBranchCode")
        .await;
    assert_eq!(
        r.one(),
        &json!({ "id": id, "departmentOfBranchCode": "h3a" })
    );
    z.get("studentsindepartments?schoolYear=1")
        .await
        .assert_error(400, "Unknown query parameter: schoolYear");
}

#[tokio::test]
async fn deleting_a_placement_needs_placement_delete() {
    let z = with_student("1").await;
    let h3a = z.class("Lyceum", "2025-2026", "h3a");
    let id = z.sim.state.seed_placement("1", h3a, None).unwrap();
    let path = format!("studentsindepartments/{id}");
    z.delete(&path).await.assert_error(403, "Forbidden");
    assert_eq!(z.sim.state.placements().len(), 1);

    z.sim.state.update_switches(|s| s.placement_delete = true);
    let r = z.delete(&path).await;
    r.assert_envelope(200);
    assert!(z.sim.state.placements().is_empty());
    assert_eq!(
        z.get("students/1").await.one()["studentInDepartments"],
        json!([])
    );
    z.delete(&path)
        .await
        .assert_error(404, &format!("StudentInDepartment {id} not found"));
    z.delete("studentsindepartments/abc")
        .await
        .assert_error(404, "StudentInDepartment abc not found");
}

#[tokio::test]
async fn seeding_follows_the_rules_of_the_api() {
    let z = zsim().await;
    let st = &z.sim.state;
    let u = st
        .seed_user(json!({ "code": "5", "isStudent": "true", "lastName": "Jansen" }))
        .unwrap();
    assert_eq!(u["lastName"], "Jansen");
    assert_eq!(
        st.seed_user(json!({ "code": "5" })).unwrap_err().status,
        409
    );
    assert!(st.student("5").is_some());
    let h3a = z.class("Gymnasium", "2025-2026", "h3a");
    assert_eq!(
        st.seed_placement("6", h3a, None).unwrap_err().message,
        "Student 6 not found"
    );
    assert!(st.seed_placement("5", 1, None).is_err());
    st.seed_placement("5", h3a, Some(0.5)).unwrap();
    // A student record whose userCode differs from the code it is found under.
    st.seed_user(json!({ "code": "7" })).unwrap();
    st.seed_student("7", "8");
    let r = z.get("students/7").await;
    assert_eq!(r.one()["userCode"], "8");
    assert_eq!(st.total_requests(), 1, "seeding is not a request");
}
