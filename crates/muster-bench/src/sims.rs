//! `muster-bench sims`: what one request costs each simulator at scale (issue 14, item 3:
//! "every simulator holds 100,000 users and a group of 100,000 members and answers each request
//! in O(log n) or better; the benchmarks must measure Muster, not the simulator").
//!
//! Each simulator runs in this process on 127.0.0.1 and is seeded through its in-process
//! handle with `users` users and one group of all of them (Zermelo: one class holding them
//! all). Then, over HTTP one request at a time, it times a page of 100 users from the middle,
//! a look-up of one user, a create, and a membership add and remove (the newly created users
//! joining and leaving the large group), and prints the mean per request. Every answer is
//! checked for its success status. Requests whose answer is itself the whole list or group
//! (Zermelo has no paging; Zivver answers a group PATCH with the group) are labelled so and
//! run fewer times: their cost is the answer's size, not a search. Answers are read in full but
//! parsed only where a later request needs their contents (the ids of creates).

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use muster_sim::{
    HelloIdSim, HelloIdSimConfig, HelloIdSwitches, ScimSim, ScimSimConfig, ZermeloSim,
    ZermeloSimConfig, ZivverSim, ZivverSimConfig, ZivverSwitches,
};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_JSON: &str = "application/scim+json";
const PAGE: usize = 100;

pub async fn run(users: usize, rounds: usize) -> Result<()> {
    let http = Client::builder().timeout(Duration::from_secs(60)).build()?;
    println!(
        "{users} users and a group of {users} members per simulator; \
         mean per request over HTTP on 127.0.0.1, one at a time"
    );
    scim(&http, users, rounds).await?;
    zivver(&http, users, rounds).await?;
    helloid(&http, users, rounds).await?;
    zermelo(&http, users, rounds).await?;
    Ok(())
}

/// Sends `rb` and reads the whole answer, failing unless the status is `want`; returns the
/// body's text, unparsed: parsing a large answer is the client's cost, not the simulator's.
async fn expect(rb: RequestBuilder, want: StatusCode) -> Result<String> {
    let resp = rb.send().await?;
    let status = resp.status();
    let text = resp.text().await?;
    ensure!(status == want, "{status} (wanted {want}): {text:.300}");
    Ok(text)
}

/// `text` as JSON, for the answers whose contents a later request needs.
fn parsed(text: &str) -> Result<Value> {
    serde_json::from_str(text).context("an answer that is not JSON")
}

/// Runs `request(k)` for `k` in `0..n`, one at a time, prints the mean and returns what the
/// requests returned.
async fn timed<T, F, Fut>(sim: &str, kind: &str, n: usize, mut request: F) -> Result<Vec<T>>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let n = n.max(1);
    let mut out = Vec::with_capacity(n);
    let start = Instant::now();
    for k in 0..n {
        out.push(
            request(k)
                .await
                .with_context(|| format!("{sim}: {kind}, request {k}"))?,
        );
    }
    let mean = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
    println!("{sim:<8} {kind:<44} {mean:>9.3} ms  ({n} requests)");
    Ok(out)
}

fn seeded(sim: &str, users: usize, since: Instant) {
    println!(
        "{sim:<8} seeded {users} users and the group in {:.1} s",
        since.elapsed().as_secs_f64()
    );
}

/// A user spread over the whole table, a different one per `k`.
fn spread(k: usize, users: usize) -> usize {
    k.wrapping_mul(7919).wrapping_add(users / 3) % users.max(1)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn enc(s: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

fn anyhow_of(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

/// Times the two user reads SCIM-shaped APIs share: a page of 100 from the middle of the list
/// (`startIndex`) and a look-up by `userName`; `req` builds a request to a path.
async fn user_reads(
    sim: &str,
    users: usize,
    rounds: usize,
    req: impl Fn(Method, &str) -> RequestBuilder,
) -> Result<()> {
    timed(
        sim,
        "page of 100 users (startIndex mid-list)",
        rounds,
        |k| {
            let rb = req(
                Method::GET,
                &format!("/Users?startIndex={}&count={PAGE}", users / 2 + k),
            );
            async move { expect(rb, StatusCode::OK).await.map(drop) }
        },
    )
    .await?;
    timed(sim, "look-up by userName (filter eq)", rounds, |k| {
        let filter = enc(&format!(
            "userName eq \"u{}@example.org\"",
            spread(k, users)
        ));
        let rb = req(Method::GET, &format!("/Users?filter={filter}"));
        async move { expect(rb, StatusCode::OK).await.map(drop) }
    })
    .await?;
    Ok(())
}

/// Times a SCIM PatchOp `add` of one created user to the group, then a `remove` of each by a
/// `members[value eq …]` filter, one request at a time; `patch` builds the request.
async fn member_writes(
    sim: &str,
    note: &str,
    rounds: usize,
    created: &[String],
    patch: impl Fn(Value) -> RequestBuilder,
) -> Result<()> {
    timed(sim, &format!("member add {note}"), rounds, |k| {
        let rb = patch(json!([{"op": "add", "path": "members", "value": [{"value": created[k]}]}]));
        async move { expect(rb, StatusCode::OK).await.map(drop) }
    })
    .await?;
    timed(sim, &format!("member remove {note}"), rounds, |k| {
        let path = format!("members[value eq \"{}\"]", created[k]);
        let rb = patch(json!([{"op": "remove", "path": path}]));
        async move { expect(rb, StatusCode::OK).await.map(drop) }
    })
    .await?;
    Ok(())
}

async fn scim(http: &Client, users: usize, rounds: usize) -> Result<()> {
    let sim = ScimSim::start(ScimSimConfig {
        token: "bench".into(),
        ..ScimSimConfig::default()
    })
    .await?;
    let since = Instant::now();
    let mut members = Vec::with_capacity(users);
    for i in 0..users {
        let id = sim
            .state
            .seed_user(json!({"schemas": [USER], "userName": format!("u{i}@example.org")}))
            .map_err(anyhow_of)?;
        members.push(json!({ "value": id }));
    }
    let group = sim
        .state
        .seed_group(json!({"schemas": [GROUP], "displayName": "All staff", "members": members}))
        .map_err(anyhow_of)?;
    seeded("SCIM", users, since);
    let base = sim.base_url.clone();
    let req = |m: Method, path: &str| {
        http.request(m, format!("{base}{path}"))
            .bearer_auth("bench")
    };
    user_reads("SCIM", users, rounds, req).await?;
    let created = timed("SCIM", "create", rounds, |k| {
        let rb = req(Method::POST, "/Users")
            .header("content-type", SCIM_JSON)
            .body(
                json!({"schemas": [USER], "userName": format!("new{k}@example.org")}).to_string(),
            );
        async move {
            let body = parsed(&expect(rb, StatusCode::CREATED).await?)?;
            Ok(body["id"].as_str().context("no id")?.to_owned())
        }
    })
    .await?;
    let patch = |ops: Value| {
        req(
            Method::PATCH,
            &format!("/Groups/{group}?excludedAttributes=members"),
        )
        .header("content-type", SCIM_JSON)
        .body(json!({"schemas": [PATCH_OP], "Operations": ops}).to_string())
    };
    member_writes(
        "SCIM",
        "(excludedAttributes=members)",
        rounds,
        &created,
        patch,
    )
    .await?;
    sim.shutdown().await?;
    Ok(())
}

async fn zivver(http: &Client, users: usize, rounds: usize) -> Result<()> {
    let mut switches = ZivverSwitches::without_rate_limit();
    switches.honour_paging = true;
    switches.membership_add_remove = true;
    let sim = ZivverSim::start(ZivverSimConfig {
        tokens: vec!["bench".into()],
        switches,
        ..ZivverSimConfig::default()
    })
    .await?;
    let since = Instant::now();
    let mut members = Vec::with_capacity(users);
    for i in 0..users {
        let id = sim
            .state
            .seed_user(json!({"userName": format!("u{i}@example.org")}))
            .map_err(anyhow_of)?;
        members.push(json!({ "value": id }));
    }
    let group = sim
        .state
        .seed_group(json!({"displayName": "All staff", "members": members}))
        .map_err(anyhow_of)?;
    seeded("Zivver", users, since);
    let api = sim.api_url();
    let req = |m: Method, path: &str| http.request(m, format!("{api}{path}")).bearer_auth("bench");
    user_reads("Zivver", users, rounds, req).await?;
    let created = timed("Zivver", "create", rounds, |k| {
        let rb = req(Method::POST, "/Users")
            .header("content-type", "application/json")
            .body(json!({"userName": format!("new{k}@example.org")}).to_string());
        async move {
            let body = parsed(&expect(rb, StatusCode::CREATED).await?)?;
            Ok(body["id"].as_str().context("no id")?.to_owned())
        }
    })
    .await?;
    let patch = |ops: Value| {
        req(Method::PATCH, &format!("/Groups/{group}"))
            .header("content-type", SCIM_JSON)
            .header("accept", SCIM_JSON)
            .body(json!({"schemas": [PATCH_OP], "Operations": ops}).to_string())
    };
    // Zivver answers a group PATCH with the group, all its members included.
    let whole = (rounds / 10).max(1);
    member_writes(
        "Zivver",
        "(answer: the whole group)",
        whole,
        &created,
        patch,
    )
    .await?;
    sim.shutdown().await?;
    Ok(())
}

async fn helloid(http: &Client, users: usize, rounds: usize) -> Result<()> {
    let mut switches = HelloIdSwitches::default();
    switches.faults.rate_limit = false;
    let sim = HelloIdSim::start(HelloIdSimConfig {
        credentials: vec![("bench".into(), "bench".into())],
        groups: Vec::new(),
        switches,
        ..HelloIdSimConfig::default()
    })
    .await?;
    let since = Instant::now();
    let group = sim.state.seed_group("All staff");
    for i in 0..users {
        let guid = sim
            .state
            .seed_user(json!({"userName": format!("u{i}@example.org")}))
            .map_err(anyhow_of)?;
        sim.state.add_member(&guid, &group).map_err(anyhow_of)?;
    }
    seeded("HelloID", users, since);
    let api = sim.api_url();
    let req = |m: Method, path: &str| {
        http.request(m, format!("{api}{path}"))
            .basic_auth("bench", Some("bench"))
    };
    timed(
        "HelloID",
        "page of 100 users (skip mid-list)",
        rounds,
        |k| {
            let rb = req(
                Method::GET,
                &format!("/users?skip={}&take={PAGE}", users / 2 + k),
            );
            async move { expect(rb, StatusCode::OK).await.map(drop) }
        },
    )
    .await?;
    timed(
        "HelloID",
        "look-up by userName (/users/{name})",
        rounds,
        |k| {
            let rb = req(
                Method::GET,
                &format!("/users/u{}@example.org", spread(k, users)),
            );
            async move { expect(rb, StatusCode::OK).await.map(drop) }
        },
    )
    .await?;
    let created = timed("HelloID", "create", rounds, |k| {
        let rb = req(Method::POST, "/users")
            .header("content-type", "application/json")
            .body(json!({"userName": format!("new{k}@example.org")}).to_string());
        async move {
            let body = parsed(&expect(rb, StatusCode::OK).await?)?;
            Ok(body["userGUID"].as_str().context("no userGUID")?.to_owned())
        }
    })
    .await?;
    timed("HelloID", "member add", rounds, |k| {
        let rb = req(Method::POST, &format!("/users/{}/groups", created[k]))
            .header("content-type", "application/json")
            .body(json!({ "groupGuid": group }).to_string());
        async move { expect(rb, StatusCode::NO_CONTENT).await.map(drop) }
    })
    .await?;
    timed("HelloID", "member remove", rounds, |k| {
        let rb = req(
            Method::DELETE,
            &format!("/users/{}/groups/{group}", created[k]),
        );
        async move { expect(rb, StatusCode::NO_CONTENT).await.map(drop) }
    })
    .await?;
    sim.shutdown().await?;
    Ok(())
}

async fn zermelo(http: &Client, users: usize, rounds: usize) -> Result<()> {
    let mut cfg = ZermeloSimConfig {
        tokens: vec!["bench".into()],
        ..ZermeloSimConfig::default()
    };
    cfg.switches.faults.rate_limit = false;
    cfg.switches.placement_delete = true;
    let sim = ZermeloSim::start(cfg).await?;
    let class = sim
        .state
        .department_id("Lyceum", "2024-2025", "h3a")
        .context("no class h3a")?;
    let since = Instant::now();
    for i in 0..users {
        let code = format!("{}", 100_000 + i);
        sim.state
            .seed_user(json!({"code": code, "isStudent": true}))
            .map_err(anyhow_of)?;
        sim.state
            .seed_placement(&code, class, Some(1.0))
            .map_err(anyhow_of)?;
    }
    seeded("Zermelo", users, since);
    let api = sim.api_url();
    let req = |m: Method, path: &str| {
        http.request(m, format!("{api}/{path}"))
            .bearer_auth("bench")
    };
    // The API has no paging: the list is the whole table.
    timed(
        "Zermelo",
        "list of all users (no paging in the API)",
        (rounds / 20).max(1),
        |_| {
            let rb = req(Method::GET, "users?fields=code");
            async move { expect(rb, StatusCode::OK).await.map(drop) }
        },
    )
    .await?;
    timed("Zermelo", "look-up by code (users/{code})", rounds, |k| {
        let rb = req(
            Method::GET,
            &format!("users/{}", 100_000 + spread(k, users)),
        );
        async move { expect(rb, StatusCode::OK).await.map(drop) }
    })
    .await?;
    timed(
        "Zermelo",
        "student with placements (students/{code})",
        rounds,
        |k| {
            let rb = req(
                Method::GET,
                &format!("students/{}", 100_000 + spread(k, users)),
            );
            async move { expect(rb, StatusCode::OK).await.map(drop) }
        },
    )
    .await?;
    timed("Zermelo", "create", rounds, |k| {
        let rb = req(Method::POST, "users")
            .header("content-type", "application/json")
            .body(json!({"code": format!("new{k}"), "isStudent": true}).to_string());
        async move { expect(rb, StatusCode::CREATED).await.map(drop) }
    })
    .await?;
    let placed = timed(
        "Zermelo",
        "member add (placement in the class)",
        rounds,
        |k| {
            let rb = req(Method::POST, "studentsindepartments")
                .header("content-type", "application/json")
                .body(
                    json!({"departmentOfBranch": class, "student": format!("new{k}")}).to_string(),
                );
            async move {
                let body = parsed(&expect(rb, StatusCode::CREATED).await?)?;
                body["response"]["data"][0]["id"].as_u64().context("no id")
            }
        },
    )
    .await?;
    timed(
        "Zermelo",
        "member remove (placement deleted)",
        rounds,
        |k| {
            let rb = req(
                Method::DELETE,
                &format!("studentsindepartments/{}", placed[k]),
            );
            async move { expect(rb, StatusCode::OK).await.map(drop) }
        },
    )
    .await?;
    sim.shutdown().await?;
    Ok(())
}
