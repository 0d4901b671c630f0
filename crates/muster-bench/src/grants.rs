//! `muster-bench grants`: grants per second into one large group on the SCIM simulator
//! (issue 14, item 3: "≥ 1,000 grants/s into a 100,000-member group").
//!
//! The simulator holds `members` users in one group, "All staff", and `grants` more users
//! that are not in it: the persons of the HR export. Day 1 links those persons to their
//! accounts (correlation sends nothing; the seeded fields already match). Day 2 adds a rule
//! granting "All staff" to everyone: the plan is `grants` Grants, one PATCH each. Printed: the
//! day-2 apply as a whole (it reads every user and the group with all its members again) and
//! that time less a preview's read and plan, i.e. the execution alone.

use anyhow::{ensure, Context, Result};
use muster_core::plan::ActionKind;
use muster_sim::scim::{ScimSim, ScimSimConfig};
use serde_json::json;
use std::time::Instant;

use crate::{day, engine, org};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

pub async fn run(members: usize, grants: usize, concurrency: usize) -> Result<()> {
    let sim = ScimSim::start(ScimSimConfig {
        token: "bench".into(),
        ..ScimSimConfig::default()
    })
    .await?;
    let seeded = Instant::now();
    let mut ids = Vec::with_capacity(members);
    for j in 0..members {
        let id = sim
            .state
            .seed_user(json!({"schemas": [USER], "userName": format!("member{j}@example.org")}))
            .map_err(|e| anyhow::anyhow!("seeding member {j}: {e:?}"))?;
        ids.push(json!({ "value": id }));
    }
    // The export's persons (`org::write_export`), their fields as Muster maps them.
    for i in 0..grants {
        sim.state
            .seed_user(json!({
                "schemas": [USER, ENTERPRISE],
                "userName": format!("user{i}@example.org"),
                "name": { "familyName": format!("Family{i}") },
                ENTERPRISE: { "department": org::DEPARTMENTS[i % org::DEPARTMENTS.len()] },
            }))
            .map_err(|e| anyhow::anyhow!("seeding user {i}: {e:?}"))?;
    }
    let group = sim
        .state
        .seed_group(json!({"schemas": [GROUP], "displayName": "All staff", "members": ids}))
        .map_err(|e| anyhow::anyhow!("seeding the group: {e:?}"))?;
    println!(
        "seeded {} users, a group of {members} members in {:.1} s",
        members + grants,
        seeded.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir()?;
    org::write_export(dir.path(), grants, 0)?;
    let config = org::config(dir.path(), true, false, concurrency, 0).replace(
        "dynamic_permissions = [{ template = \"Dept {Contract.Department}\" }]",
        "",
    );
    let url = vec![(
        "MUSTER__TARGETS__SCIM__CONNECTION__BASE_URL".to_owned(),
        sim.base_url.clone(),
    )];
    let day1 = engine(dir.path(), &config, url.clone())
        .await?
        .apply(day(1), None)
        .await?;
    let linked = day1.summary.targets[0].totals();
    ensure!(
        linked.failed == 0,
        "day 1 (linking) failed {} actions",
        linked.failed
    );

    let config = format!(
        "{config}\n[[rules]]\nname = \"all staff\"\ntargets = [\"scim\"]\npermissions = [\"All staff\"]\n"
    );
    let engine = engine(dir.path(), &config, url).await?;
    let started = Instant::now();
    let preview = engine.preview(day(2)).await?;
    let read_and_plan = started.elapsed().as_secs_f64();
    let planned = preview.summary.targets[0]
        .by_action
        .get(&ActionKind::Grant)
        .map_or(0, |c| c.planned);
    let started = Instant::now();
    let applied = engine.apply(day(2), None).await?;
    let took = started.elapsed().as_secs_f64();
    let counts = applied.summary.targets[0]
        .by_action
        .get(&ActionKind::Grant)
        .cloned()
        .unwrap_or_default();
    let in_group = sim
        .state
        .group(&group)
        .context("the group is gone")?
        .get("members")
        .and_then(|m| m.as_array().map(Vec::len))
        .unwrap_or(0);
    let executing = (took - read_and_plan).max(f64::EPSILON);
    println!(
        "grants into a group of {members} members: {planned} planned, {} done, {} failed; \
         the group now has {in_group} members",
        counts.done, counts.failed
    );
    println!(
        "apply {took:.2} s = {:.0} grants/s; of which read + plan {read_and_plan:.2} s \
         (a preview); executing {executing:.2} s = {:.0} grants/s (concurrency {concurrency})",
        counts.done as f64 / took,
        counts.done as f64 / executing
    );
    sim.shutdown().await?;
    Ok(())
}
