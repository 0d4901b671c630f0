//! 5,000 students in one class of 5,000 (issue 14, item 3): the indexed paths — users by code,
//! classes by id, each student's placements through the per-student index — give exactly what
//! a scan would, after placements are added and deleted.

use serde_json::{json, Value};

use super::{student, zsim_with};

const STUDENTS: usize = 5_000;

fn code(i: usize) -> String {
    format!("{}", 100_000 + i)
}

fn ids(rows: &[Value]) -> Vec<u64> {
    rows.iter().map(|p| p["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn five_thousand_students_in_one_class_read_and_change_exactly() {
    let z = zsim_with(|c| {
        c.switches.placement_read = true;
        c.switches.placement_delete = true;
    })
    .await;
    let state = &z.sim.state;
    let h3a = z.class("Lyceum", "2024-2025", "h3a");
    let h3b = z.class("Lyceum", "2024-2025", "h3b");
    // Per student, the ids of its placements, oldest first.
    let mut placed: Vec<Vec<u64>> = Vec::new();
    for i in 0..STUDENTS {
        state.seed_user(student(&code(i))).unwrap();
        let mut mine = vec![state.seed_placement(&code(i), h3a, Some(1.0)).unwrap()];
        if i % 3 == 0 {
            mine.push(state.seed_placement(&code(i), h3b, None).unwrap());
        }
        placed.push(mine);
    }

    // The list answers everyone, in creation order.
    let r = z.get("users?fields=code").await;
    r.assert_envelope(200);
    let codes: Vec<String> = r
        .data()
        .iter()
        .map(|u| u["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, (0..STUDENTS).map(code).collect::<Vec<_>>());

    // Deletes in the class of 5,000 leave the other students' placements alone.
    for i in (0..STUDENTS).step_by(11) {
        let id = placed[i].remove(0);
        z.delete(&format!("studentsindepartments/{id}"))
            .await
            .assert_envelope(200);
    }
    let r = z
        .post(
            "studentsindepartments",
            json!({ "departmentOfBranch": h3b, "student": code(11) }),
        )
        .await;
    r.assert_envelope(201);
    placed[11].push(r.one()["id"].as_u64().unwrap());

    for i in [0, 1, 3, 11, 12, 2_997, STUDENTS - 1] {
        let r = z.get(&format!("students/{}", code(i))).await;
        r.assert_envelope(200);
        let listed = r.one()["studentInDepartments"].as_array().unwrap().clone();
        assert_eq!(ids(&listed), placed[i], "student {i}");
        for p in &listed {
            assert_eq!(p["student"], json!(code(i)));
            let class = if p["departmentOfBranch"] == json!(h3a) {
                "h3a"
            } else {
                "h3b"
            };
            assert_eq!(p["departmentOfBranchCode"], class);
        }
        let r = z
            .get(&format!("studentsindepartments?student={}", code(i)))
            .await;
        r.assert_envelope(200);
        assert_eq!(ids(r.data()), placed[i], "student {i}");
    }
    let r = z.get("studentsindepartments").await;
    r.assert_envelope(200);
    let mut all: Vec<u64> = placed.iter().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(ids(r.data()), all);

    // A deleted placement is gone; unknown classes are refused, whatever their number.
    let gone = z.delete(&format!("studentsindepartments/{}", 40_001)).await;
    gone.assert_error(404, "StudentInDepartment 40001 not found");
    for class in [0u64, 500, h3a + 10_000] {
        let r = z
            .post(
                "studentsindepartments",
                json!({ "departmentOfBranch": class, "student": code(5) }),
            )
            .await;
        r.assert_error(404, &format!("DepartmentOfBranch {class} not found"));
    }

    // A user found by code after an update.
    z.put(&format!("users/{}", code(42)), json!({ "archived": true }))
        .await
        .assert_envelope(200);
    let r = z.get(&format!("users/{}", code(42))).await;
    assert_eq!(r.one()["archived"], true);
}
