//! A per-person "read the account, then write" client, the way hand-run scripts and many
//! connectors work: create = filter query + POST; membership = read user + read group + write
//! group. Run on the same simulators and workload as Muster, for the ratio.

use anyhow::Result;
use muster_sim::scim::RunningScimSim;
use muster_sim::zivver::RunningZivverSim;
use serde_json::{json, Value};

pub async fn run(scim: &RunningScimSim, zivver: &RunningZivverSim, n: usize) -> Result<()> {
    let client = reqwest::Client::new();
    let scim_base = scim.base_url.clone();
    let zivver_base = format!("{}/api/scim/v2", zivver.base_url);
    let groups = |base: &str, token: &str| {
        let client = client.clone();
        let url = format!("{base}/Groups");
        let token = token.to_owned();
        async move {
            let v: Value = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
            let map: std::collections::HashMap<String, String> = v["Resources"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|g| {
                            (
                                g["displayName"].as_str().unwrap_or_default().to_owned(),
                                g["id"].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            anyhow::Ok(map)
        }
    };
    let scim_groups = groups(&scim_base, "bench").await?;
    let zivver_groups = groups(&zivver_base, "bench").await?;
    let (scim_start, zivver_start) = (scim.state.total_requests(), zivver.state.total_requests());
    let mut changes = 0u64;
    for i in 0..n {
        let user = format!("user{i}@example.org");
        let dept = crate::org::DEPARTMENTS[i % crate::org::DEPARTMENTS.len()];
        let filter = format!("userName eq \"{user}\"");
        // SCIM: look up, create, then read user + read group + PATCH the membership.
        client
            .get(format!("{scim_base}/Users"))
            .query(&[("filter", filter.as_str())])
            .bearer_auth("bench")
            .send()
            .await?;
        let created: Value = client
            .post(format!("{scim_base}/Users"))
            .bearer_auth("bench")
            .header("content-type", "application/scim+json")
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user, "name": {"familyName": format!("Family{i}")}}))
            .send()
            .await?
            .json()
            .await?;
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        let gid = scim_groups
            .get(&format!("Dept {dept}"))
            .cloned()
            .unwrap_or_default();
        client
            .get(format!("{scim_base}/Users/{id}"))
            .bearer_auth("bench")
            .send()
            .await?;
        client
            .get(format!("{scim_base}/Groups/{gid}"))
            .bearer_auth("bench")
            .send()
            .await?;
        client
            .patch(format!("{scim_base}/Groups/{gid}"))
            .bearer_auth("bench")
            .header("content-type", "application/scim+json")
            .json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]}))
            .send()
            .await?;
        changes += 2;
        // Zivver: look up, create; functional account: read user + read group + PATCH replace.
        client
            .get(format!("{zivver_base}/Users"))
            .query(&[("filter", filter.as_str())])
            .bearer_auth("bench")
            .send()
            .await?;
        let created: Value = client
            .post(format!("{zivver_base}/Users"))
            .bearer_auth("bench")
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user, "active": true,
                          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"division": dept}}))
            .send()
            .await?
            .json()
            .await?;
        changes += 1;
        let fa = match dept {
            "Finance" => Some("Administratie"),
            "Support" => Some("Servicedesk"),
            _ => None,
        };
        if let Some(fa) = fa {
            let zid = created["id"].as_str().unwrap_or_default().to_owned();
            let gid = zivver_groups.get(fa).cloned().unwrap_or_default();
            client
                .get(format!("{zivver_base}/Users/{zid}"))
                .bearer_auth("bench")
                .send()
                .await?;
            let group: Value = client
                .get(format!("{zivver_base}/Groups/{gid}"))
                .bearer_auth("bench")
                .send()
                .await?
                .json()
                .await?;
            let mut members: Vec<Value> = group["members"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|m| json!({"value": m["value"]}))
                .collect();
            members.push(json!({"value": zid}));
            client
                .patch(format!("{zivver_base}/Groups/{gid}"))
                .bearer_auth("bench")
                .header("content-type", "application/scim+json")
                // Zivver answers a group PATCH that does not accept scim+json with 415.
                .header("accept", "application/scim+json")
                .json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "members", "value": members}]}))
                .send()
                .await?;
            changes += 1;
        }
    }
    let requests =
        (scim.state.total_requests() - scim_start) + (zivver.state.total_requests() - zivver_start);
    println!(
        "naive    both    applied={changes:<6} requests={requests:<6} per_change={:.3}  (read-then-write per person, sequential)",
        requests as f64 / changes as f64
    );
    Ok(())
}
