//! The web dashboard over a real server: sessions, escaping, CSRF and role refusals, filters,
//! approval through the form, and the whole flow in headless Chromium (tests/e2e).

use crate::api::BLOCK_CREATES;
use crate::provider::{free_port, listen_on, oidc_section, start_provider};
use crate::support::TestServer;
use muster_store::TokenRole;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SCRIPT: &str = "<script>alert(1)</script>";

/// A server whose first apply was blocked (creates over the threshold), where `title` is a
/// secret field; the source's first person is named `<script>…` when `hostile_name`. Returns the server and the blocked run.
async fn blocked(hostile_name: bool) -> (TestServer, String) {
    blocked_with(hostile_name, "", |t| t).await
}

/// [`blocked`] with `extra` in `[server]` and the configuration's text passed through `edit`.
async fn blocked_with(
    hostile_name: bool,
    extra: &str,
    edit: impl FnOnce(String) -> String,
) -> (TestServer, String) {
    let server = TestServer::start(extra, |t| {
        // Titles are secret here: the pages must show them as ***.
        edit(BLOCK_CREATES(t).replacen(
            "create = { absolute = 5 } }",
            "create = { absolute = 5 } }\nsecret_fields = [\"title\"]",
            1,
        ))
    })
    .await;
    if hostile_name {
        let csv = server.dir.path().join("persons.csv");
        let text = std::fs::read_to_string(&csv).unwrap();
        std::fs::write(&csv, text.replacen(";Emma;", &format!(";{SCRIPT};"), 1)).unwrap();
    }
    let (status, body) = server
        .post("/api/v1/runs", &server.admin, json!({"mode": "apply"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let run = server.wait_for_runs(1).await;
    assert_eq!(run["status"], "blocked", "{run}");
    let id = run["id"].as_str().unwrap().to_owned();
    server.wait_for_plan("scim", &id).await;
    (server, id)
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// GET `path` with the session `cookie` (none for `None`).
async fn get(
    server: &TestServer,
    cookie: Option<&str>,
    path: &str,
) -> (StatusCode, HeaderMap, String) {
    let mut request = no_redirects().get(format!("{}{path}", server.base));
    if let Some(c) = cookie {
        request = request.header("cookie", c);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

/// POSTs a form to `path` with the session `cookie` and extra headers.
async fn post(
    server: &TestServer,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut request = no_redirects()
        .post(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .form(form);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

/// Form fields or headers.
type Fields<'a> = Vec<(&'static str, &'a str)>;

/// The approval form of the blocked creates, with `csrf` when given.
fn approve(csrf: Option<&str>) -> Fields<'_> {
    let mut form = vec![
        ("kind", "create"),
        ("reason", "ok"),
        ("decision", "approve"),
    ];
    form.extend(csrf.map(|t| ("csrf", t)));
    form
}

async fn waiting(server: &TestServer) -> usize {
    let (status, list) = server.get("/api/v1/blocked", &server.viewer).await;
    assert_eq!(status, StatusCode::OK);
    list.as_array().unwrap().len()
}

#[tokio::test]
async fn pages_need_a_session_and_send_the_visitor_to_sign_in() {
    let server = TestServer::start("", |t| t).await;
    for (path, next) in [
        ("/", "%2F"),
        (
            "/runs/0f1e2d3c?kind=create",
            "%2Fruns%2F0f1e2d3c%3Fkind%3Dcreate",
        ),
        ("/audit", "%2Faudit"),
        ("/reports", "%2Freports"),
    ] {
        let (status, headers, _) = get(&server, None, path).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers[LOCATION], format!("/login?next={next}"), "{path}");
    }
    let (status, headers, _) = get(&server, Some("muster_session=forged"), "/").await;
    assert_eq!(
        (status, &headers[LOCATION]),
        (StatusCode::SEE_OTHER, &"/login?next=%2F".parse().unwrap())
    );
    // A bearer token is for the API, not the pages.
    let response = no_redirects()
        .get(format!("{}/", server.base))
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The stylesheet holds no data and needs no session.
    let (status, headers, css) = get(&server, None, "/static/muster.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(css.contains("table"));

    let viewer = server.session(TokenRole::Viewer);
    let (status, headers, page) = get(&server, Some(&viewer), "/").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("<h1>Overview</h1>") && page.contains("data-target=\"scim\""),
        "{page}"
    );
    assert!(
        !page.contains("id=\"trigger\""),
        "a viewer is not offered to start runs"
    );
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(server.stop().await.0);
}

#[tokio::test]
async fn a_source_value_behind_a_secret_field_is_never_shown() {
    // `title` made secret; person 10001's contract title is `Medewerker`.
    let server = TestServer::start("", |t| {
        t.replacen(
            "thresholds = { delete = { percent = 10 } }",
            "thresholds = { delete = { percent = 10 } }\nsecret_fields = [\"title\"]",
            1,
        )
    })
    .await;
    let (status, body) = server
        .post("/api/v1/runs", &server.admin, json!({"mode": "apply"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let run = server.wait_for_runs(1).await;
    assert_eq!(run["status"], "changes", "{run}");
    let (status, person) = server.get("/api/v1/persons/10001", &server.admin).await;
    assert_eq!(status, StatusCode::OK, "{person}");
    let json = person.to_string();
    assert!(json.contains("Finance"), "the record is shown: {json}");
    assert!(
        !json.contains("Medewerker") && json.contains("***"),
        "{json}"
    );
    let viewer = server.session(TokenRole::Viewer);
    let (status, _, page) = get(&server, Some(&viewer), "/people/10001").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Finance"), "{page}");
    assert!(
        !page.contains("Medewerker") && page.contains("***"),
        "{page}"
    );
}

#[tokio::test]
async fn every_value_is_escaped() {
    let (server, run) = blocked(true).await;
    let viewer = server.session(TokenRole::Viewer);
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
    // The person's record, the run's plan and an unknown id echoed in an error.
    let (status, _, page) = get(&server, Some(&viewer), "/people/10001").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(escaped), "{page}");
    let (status, _, page) = get(&server, Some(&viewer), "/plans/scim").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(escaped),
        "the plan shows the new name, escaped"
    );
    assert!(
        page.contains("title: <span class=\"muted\">—</span> → ***"),
        "a secret value is shown as ***"
    );
    assert!(
        !page.contains("Medewerker") && !page.contains("Specialist"),
        "no title in clear"
    );
    // An unknown person (404) and an id that is refused (400, it holds a `/`), both echoed.
    for (path, expected) in [
        ("/people/%3Cscript%3Ealert(1)", StatusCode::NOT_FOUND),
        (
            "/people/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, _, page) = get(&server, Some(&viewer), path).await;
        assert_eq!(status, expected, "{path}: {page}");
        assert!(page.contains("&lt;script&gt;alert(1)"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
    }
    let (status, _, page) = get(
        &server,
        Some(&viewer),
        "/audit?person=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an id with / is refused: {page}"
    );
    assert!(
        page.contains("value=\"&quot;&gt;&lt;script&gt;"),
        "the form keeps the value, escaped"
    );
    for path in [
        "/people/10001",
        "/plans/scim",
        &format!("/runs/{run}"),
        "/audit?person=%3Cscript%3E",
    ] {
        let (_, _, page) = get(&server, Some(&viewer), path).await;
        assert!(!page.contains(SCRIPT), "{path} holds the raw script");
    }
    assert!(server.stop().await.0);
}

#[tokio::test]
async fn forms_without_this_sessions_csrf_token_or_from_another_site_are_refused() {
    let (server, run) = blocked(false).await;
    let approver = server.session(TokenRole::Approver);
    let csrf = server.csrf(&approver);
    let other = server.csrf(&server.session(TokenRole::Approver));
    let path = format!("/runs/{run}/decide");
    let cases: [(Fields, Fields, &str); 5] = [
        (approve(None), vec![], "no token"),
        (approve(Some("0000")), vec![], "a wrong token"),
        (approve(Some(&other)), vec![], "another session's token"),
        (
            approve(Some(&csrf)),
            vec![("origin", "http://evil.example")],
            "another origin",
        ),
        (
            approve(Some(&csrf)),
            vec![("sec-fetch-site", "cross-site")],
            "a cross-site fetch",
        ),
    ];
    for (fields, headers, why) in cases {
        let (status, _, page) = post(&server, &approver, &path, &fields, &headers).await;
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::BAD_REQUEST,
            "{why}: {status} {page}"
        );
        assert_eq!(waiting(&server).await, 1, "{why}: nothing was decided");
    }
    // Without a session the post goes to sign-in, and nothing changes.
    let (status, headers, _) = post(
        &server,
        "muster_session=nope",
        &path,
        &approve(Some(&csrf)),
        &[],
    )
    .await;
    assert_eq!(
        (status, headers[LOCATION].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/login?next=%2F")
    );
    assert_eq!(waiting(&server).await, 1);

    // With the token, from this site: a decision that is neither approve nor reject is a 400;
    // a rejection is kept with who and why.
    let mut form = approve(Some(&csrf));
    form.retain(|(k, _)| *k != "decision");
    form.push(("decision", "maybe"));
    let (status, _, page) = post(&server, &approver, &path, &form, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    form.pop();
    form.push(("decision", "reject"));
    let (status, _, _) = post(
        &server,
        &approver,
        &path,
        &form,
        &[("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, decided) = server
        .get(&format!("/api/v1/runs/{run}/blocked"), &server.viewer)
        .await;
    assert_eq!(decided[0]["decision"]["decision"], "rejected", "{decided}");
    assert_eq!(waiting(&server).await, 0);
    assert!(server.stop().await.0);
}

#[tokio::test]
async fn a_viewer_may_not_approve_or_start_runs_and_an_approver_decides_with_a_reason() {
    let (server, run) = blocked(false).await;
    let viewer = server.session(TokenRole::Viewer);
    let csrf = server.csrf(&viewer);
    let path = format!("/runs/{run}/decide");
    let (_, _, page) = get(&server, Some(&viewer), &format!("/runs/{run}")).await;
    assert!(
        page.contains("waiting") && !page.contains("class=\"decide\""),
        "a viewer sees no decision form"
    );
    let (status, _, page) = post(
        &server,
        &viewer,
        &path,
        &[
            ("kind", "create"),
            ("reason", "ok"),
            ("decision", "approve"),
            ("csrf", &csrf),
        ],
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("approver"), "{page}");
    let (status, _, _) = post(
        &server,
        &viewer,
        "/runs",
        &[("mode", "apply"), ("target", ""), ("csrf", &csrf)],
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(waiting(&server).await, 1);

    let approver = server.session(TokenRole::Approver);
    let csrf = server.csrf(&approver);
    let (status, _, page) = post(
        &server,
        &approver,
        &path,
        &[
            ("kind", "create"),
            ("reason", "  "),
            ("decision", "approve"),
            ("csrf", &csrf),
        ],
        &[],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a decision needs a reason: {page}"
    );
    let (status, headers, _) = post(
        &server,
        &approver,
        &path,
        &[
            ("kind", "create"),
            ("reason", "new school year"),
            ("decision", "approve"),
            ("csrf", &csrf),
        ],
        &[("origin", &server.base), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], format!("/runs/{run}#blocked"));
    let (_, decided) = server
        .get(&format!("/api/v1/runs/{run}/blocked"), &server.viewer)
        .await;
    let decision = &decided[0]["decision"];
    assert_eq!(decision["decision"], "approved", "{decided}");
    assert_eq!(decision["reason"], "new school year");
    assert_eq!(decision["decided_by"], "user approver user (sub-approver)");
    let (_, _, page) = get(&server, Some(&approver), &format!("/runs/{run}")).await;
    assert!(
        page.contains("new school year") && !page.contains("class=\"decide\""),
        "{page}"
    );
    assert!(server.stop().await.0);
}

#[tokio::test]
async fn a_runs_actions_are_filtered_by_target_type_and_outcome() {
    let (server, run) = blocked(false).await;
    let viewer = server.session(TokenRole::Viewer);
    let rows = |page: &str, attr: &str| -> Vec<String> {
        page.split(&format!("{attr}=\""))
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_owned())
            .collect()
    };
    let (status, _, all) = get(&server, Some(&viewer), &format!("/runs/{run}")).await;
    assert_eq!(status, StatusCode::OK);
    // A large run lists its first 500 actions and says how many there are.
    assert!(all.contains(" action(s); the first 500 are shown"), "{all}");
    assert_eq!(rows(&all, "data-state").len(), 500);
    let kinds = rows(&all, "data-kind");
    assert!(
        kinds.iter().any(|k| k == "create") && kinds.iter().any(|k| k != "create"),
        "{kinds:?}"
    );
    let (_, _, creates) = get(
        &server,
        Some(&viewer),
        &format!("/runs/{run}?target=scim&kind=create&state=blocked"),
    )
    .await;
    let kinds = rows(&creates, "data-kind");
    let states = rows(&creates, "data-state");
    // The blocked-action form of the page has a data-kind too; the table rows carry a state.
    assert!(
        !states.is_empty() && states.iter().all(|s| s == "blocked"),
        "{states:?}"
    );
    assert!(kinds.iter().all(|k| k == "create"), "{kinds:?}");
    assert!(
        creates.contains("<option value=\"create\" selected>"),
        "the form keeps the filter"
    );
    let (_, _, none) = get(
        &server,
        Some(&viewer),
        &format!("/runs/{run}?kind=create&state=done"),
    )
    .await;
    assert!(none.contains("id=\"no-actions\""));
    // Empty fields mean "any"; a wrong value is a clear 400.
    let (status, _, same) = get(
        &server,
        Some(&viewer),
        &format!("/runs/{run}?target=&kind=&state="),
    )
    .await;
    assert_eq!(
        (status, rows(&same, "data-state").len()),
        (StatusCode::OK, rows(&all, "data-state").len())
    );
    let (status, _, page) = get(&server, Some(&viewer), &format!("/runs/{run}?kind=explode")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("unknown action type"), "{page}");
    let (status, _, page) = get(&server, Some(&viewer), "/audit?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("since: `yesterday` is not a time"), "{page}");
    let (status, _, page) = get(
        &server,
        Some(&viewer),
        "/audit?outcome=blocked&action=create",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("class=\"badge blocked\"") && !page.contains("class=\"badge done\""),
        "{page}"
    );
    let (status, _, page) = get(&server, Some(&viewer), "/reports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"source\""), "{page}");
    assert!(server.stop().await.0);
}

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Why the browser test cannot run here, if it cannot.
fn browser_missing(chromium: &Path, e2e: &Path) -> Option<String> {
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("`node` is not on PATH".into());
    }
    if !chromium.exists() {
        return Some(format!(
            "{} is missing (apt-get install chromium)",
            chromium.display()
        ));
    }
    if !e2e.join("node_modules/playwright-core").exists() {
        return Some(format!(
            "playwright-core is not installed (npm ci in {})",
            e2e.display()
        ));
    }
    if !crate::provider::installed() {
        return Some(format!(
            "oidc-provider, where the browser signs in, is not installed (npm ci in {})",
            crate::provider::provider_dir().display()
        ));
    }
    None
}

#[tokio::test]
async fn chromium_signs_in_approves_the_blocked_run_and_sees_it_applied() {
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    let e2e = repo().join("tests/e2e");
    if let Some(why) = browser_missing(&chromium, &e2e) {
        if std::env::var_os("MUSTER_REQUIRE_BROWSER").is_some() {
            panic!("MUSTER_REQUIRE_BROWSER is set but {why}");
        }
        eprintln!("SKIPPED the Chromium test: {why} (set MUSTER_REQUIRE_BROWSER=1 to make this a failure)");
        return;
    }
    // The browser signs in for real: /login → the provider's login and consent forms (as
    // alice, in group muster-admins) → /callback → the dashboard.
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/callback");
    let provider = start_provider(&callback, "RS256")
        .await
        .expect("the provider's packages were checked above");
    let (section, _secrets) = oidc_section(&provider, &callback);
    let (server, run) = blocked_with(false, &section, listen_on(port)).await;
    let shots_tmp = tempfile::tempdir().unwrap();
    // MUSTER_SCREENSHOTS=docs/screenshots refreshes the committed screenshots.
    let shots = std::env::var("MUSTER_SCREENSHOTS")
        .map(|d| repo().join(d))
        .unwrap_or_else(|_| shots_tmp.path().to_owned());
    let mut node = tokio::process::Command::new("node");
    node.arg(e2e.join("dashboard.mjs"))
        .arg(&server.base)
        .arg(&shots)
        .env("MUSTER_LOGIN", "alice")
        .env("MUSTER_SIGNED_IN_AS", "Alice Admin · admin")
        .env("CHROMIUM_BIN", &chromium)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(240), node.output())
        .await
        .expect("the browser test did not end within 240 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "dashboard.mjs failed:\n{stdout}\n{stderr}"
    );
    for name in [
        "sign-in",
        "overview",
        "run-blocked",
        "run-approved",
        "run-applied",
        "person",
        "audit",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
    // What the browser did is in the store: the decision by the signed-in user, and the apply.
    let (_, decided) = server
        .get(&format!("/api/v1/runs/{run}/blocked"), &server.viewer)
        .await;
    assert_eq!(decided[0]["decision"]["decision"], "approved", "{decided}");
    assert_eq!(
        decided[0]["decision"]["decided_by"],
        "user Alice Admin (alice)"
    );
    let newest = server.wait_for_runs(2).await;
    assert_eq!(newest["status"], "changes", "{newest}");
    assert!(!server.sim.state.users().is_empty());
    assert!(server.stop().await.0);
    drop(provider);
}
