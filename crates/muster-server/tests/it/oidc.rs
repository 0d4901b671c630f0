//! Dashboard sign-in against a real OpenID Connect provider: npm `oidc-provider` (pinned in
//! tests/oidc/package.json, started by tests/oidc/provider.mjs on 127.0.0.1; see provider.rs). The test drives
//! the browser's part with reqwest, following every redirect by hand: /login → the provider's
//! authorization endpoint → its login and consent forms → /callback → the session cookie.
//! `scripts/test.sh` runs `npm ci` there and sets MUSTER_REQUIRE_OIDC=1, so the test is never
//! silently skipped in CI.

use crate::provider::{free_port, listen_on, oidc_section, start_provider, SECRET};
use crate::support::TestServer;
use muster_core::secret::Secret;
use muster_server::web::oidc::{CallbackQuery, OidcConfig, OidcError, RelyingParty};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode, Url};
use std::collections::BTreeMap;

/// The provider's cookies (the browser's, for the provider's site).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn absorb(&mut self, response: &Response) {
        for h in response.headers().get_all(SET_COOKIE) {
            let text = h.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("1970") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

pub(crate) fn location(response: &Response, base: &Url) -> Url {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    let to = response.headers()[LOCATION].to_str().unwrap();
    base.join(to).unwrap()
}

/// Signs in at the provider as `login` from the authorization URL `auth` (the redirect of
/// /login): follows the provider's redirects, posts its login and consent forms, and returns
/// the URL it sends the browser back to (this server's /callback).
pub(crate) async fn through_provider(
    client: &Client,
    auth: Url,
    login: &str,
    callback: &str,
) -> Url {
    let mut jar = Jar::default();
    let mut next = auth;
    for _ in 0..12 {
        if next.as_str().starts_with(callback) {
            return next;
        }
        let response = client
            .get(next.clone())
            .header(COOKIE, jar.header())
            .send()
            .await
            .unwrap();
        jar.absorb(&response);
        if response.status().is_redirection() {
            next = location(&response, &next);
            continue;
        }
        // An interaction page: the login form, or the consent form.
        assert_eq!(response.status(), StatusCode::OK, "{next}");
        let page = response.text().await.unwrap();
        let form: Vec<(&str, &str)> = if page.contains("name=\"prompt\" value=\"login\"") {
            vec![("prompt", "login"), ("login", login), ("password", "any")]
        } else if page.contains("name=\"prompt\" value=\"consent\"") {
            vec![("prompt", "consent")]
        } else {
            panic!("unexpected provider page at {next}: {page}");
        };
        let response = client
            .post(next.clone())
            .header(COOKIE, jar.header())
            .form(&form)
            .send()
            .await
            .unwrap();
        jar.absorb(&response);
        next = location(&response, &next);
    }
    panic!("the provider did not send the browser back within 12 steps");
}

struct SignedIn {
    status: StatusCode,
    location: Option<String>,
    cookie: Option<String>,
    body: String,
}

/// GET the callback `url` in the browser whose sign-in binding (the cookie /login set) is
/// `binding`.
async fn call_back(client: &Client, url: &Url, binding: &str) -> SignedIn {
    let response = client
        .get(url.clone())
        .header(COOKIE, format!("muster_signin={binding}"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .map(|c| c.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    SignedIn {
        status,
        location,
        cookie,
        body,
    }
}

/// /login?next=… and what it answers with: the redirect (the provider's authorization URL)
/// and the value of the cookie that binds the sign-in to this browser.
async fn login(client: &Client, base: &str, next: &str) -> (Url, String) {
    let start = Url::parse(&format!("{base}/login")).unwrap();
    let mut url = start.clone();
    url.query_pairs_mut().append_pair("next", next);
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.starts_with("muster_signin=")
            && set.contains("; HttpOnly; SameSite=Lax; Path=/callback; Max-Age=600"),
        "{set}"
    );
    let binding = set
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix("muster_signin="))
        .unwrap()
        .to_owned();
    (location(&response, &start), binding)
}

fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let mut changed = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

fn session_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    pair.strip_prefix("muster_session=").unwrap().to_owned()
}

async fn who(client: &Client, base: &str, session: &str) -> (StatusCode, serde_json::Value) {
    let response = client
        .get(format!("{base}/session"))
        .header(COOKIE, format!("muster_session={session}"))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn dashboard_sign_in_with_a_real_openid_connect_provider() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let callback = format!("{base}/callback");
    let Some(provider) = start_provider(&callback, "RS256").await else {
        return;
    };
    let (section, _secrets) = oidc_section(&provider, &callback);
    let oidc = format!("auth_failures_per_minute = 6\n\n{section}");
    let server = TestServer::start(&oidc, listen_on(port)).await;
    assert_eq!(server.base, base);
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // /login sends the browser to the provider with PKCE (S256), state and nonce.
    let (auth, binding) = login(&client, &base, "/runs?target=scim").await;
    assert!(
        auth.as_str()
            .starts_with(&format!("{}/auth?", provider.issuer)),
        "{auth}"
    );
    let params: BTreeMap<String, String> = auth.query_pairs().into_owned().collect();
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["client_id"], "muster");
    assert_eq!(params["redirect_uri"], callback);
    assert!(params["scope"].split(' ').any(|s| s == "groups"));
    for p in ["code_challenge", "state", "nonce"] {
        assert!(params[p].len() >= 16, "{p}");
    }
    let back = through_provider(&client, auth, "alice", &callback).await;

    // A tampered state is refused and uses up nothing; the real one then signs in.
    let tampered = call_back(
        &client,
        &with_param(&back, "state", "not-the-state"),
        &binding,
    )
    .await;
    assert_eq!(
        tampered.status,
        StatusCode::BAD_REQUEST,
        "{}",
        tampered.body
    );
    assert!(tampered.cookie.is_none());
    assert!(tampered
        .body
        .contains("unknown or already used sign-in state"));
    // The callback link in another browser (no binding, or another one) is refused, and
    // the sign-in is still there for the browser that started it.
    for other in ["", "0123456789abcdef"] {
        let elsewhere = call_back(&client, &back, other).await;
        assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
        assert!(elsewhere.cookie.is_none());
        assert!(
            elsewhere.body.contains("started in another browser"),
            "{}",
            elsewhere.body
        );
    }
    let done = call_back(&client, &back, &binding).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/runs?target=scim"));
    let cookie = done.cookie.unwrap();
    assert!(
        cookie.ends_with("; HttpOnly; SameSite=Lax; Path=/"),
        "{cookie}"
    );
    let session = session_value(&cookie);
    let (status, me) = who(&client, &base, &session).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["subject"], "alice");
    assert_eq!(me["name"], "Alice Admin");
    assert_eq!(me["role"], "admin");

    // The same callback again (a replayed state) is refused.
    let replay = call_back(&client, &back, &binding).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(replay.cookie.is_none());

    // Sign-out needs the session's CSRF value.
    let logout = |csrf: String| {
        client
            .post(format!("{base}/logout"))
            .header(COOKIE, format!("muster_session={session}"))
            .form(&[("csrf", csrf)])
            .send()
    };
    let refused = logout("forged".to_owned()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(who(&client, &base, &session).await.0, StatusCode::OK);
    let out = logout(me["csrf"].as_str().unwrap().to_owned())
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    assert!(out.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        who(&client, &base, &session).await.0,
        StatusCode::UNAUTHORIZED
    );

    // A viewer by group; `next` to another site is not followed.
    let (auth, binding) = login(&client, &base, "https://evil.example/steal").await;
    let back = through_provider(&client, auth, "victor", &callback).await;
    let done = call_back(&client, &back, &binding).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/"));
    let (_, me) = who(&client, &base, &session_value(&done.cookie.unwrap())).await;
    assert_eq!(me["role"], "viewer");

    // A user with no mapped role is refused with a page that says so, and gets no session.
    let (auth, binding) = login(&client, &base, "/").await;
    let back = through_provider(&client, auth, "mallory", &callback).await;
    let refused = call_back(&client, &back, &binding).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.cookie.is_none());
    assert!(
        refused.body.contains("no Muster role is mapped"),
        "{}",
        refused.body
    );

    // An answer that names another issuer (RFC 9207 `iss`) is refused.
    let (auth, binding) = login(&client, &base, "/").await;
    let back = through_provider(&client, auth, "alice", &callback).await;
    let mixed = call_back(
        &client,
        &with_param(&back, "iss", "https://evil.example"),
        &binding,
    )
    .await;
    assert_eq!(mixed.status, StatusCode::BAD_REQUEST);
    assert!(mixed.cookie.is_none());

    // The provider's refusal is shown, escaped: its description comes from the URL.
    let (auth, binding) = login(&client, &base, "/").await;
    let state = auth
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let mut refusal = Url::parse(&callback).unwrap();
    refusal
        .query_pairs_mut()
        .append_pair("state", &state)
        .append_pair("error", "access_denied")
        .append_pair("error_description", "<script>alert(1)</script>");
    let denied = call_back(&client, &refusal, &binding).await;
    assert_eq!(denied.status, StatusCode::BAD_REQUEST);
    assert!(
        denied.body.contains("access_denied &lt;script&gt;"),
        "{}",
        denied.body
    );
    assert!(!denied.body.contains("<script>"), "{}", denied.body);

    // Failed callbacks count towards the per-address limit (6 a minute; 6 so far).
    let mut limited = false;
    for _ in 0..10 {
        let r = call_back(&client, &with_param(&back, "state", "guess"), &binding).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
    assert!(limited, "failed callbacks were never limited");

    server.stop().await;
    drop(provider);
}

/// The relying party alone (as a JIT login would use it) against a provider that signs ID
/// tokens with ES256, which it announces in its discovery document; and the discovery
/// document names its issuer exactly, so a relying party configured with another spelling
/// (`localhost` for `127.0.0.1`) refuses to use it.
#[tokio::test]
async fn the_relying_party_follows_the_announced_algorithm_and_the_exact_issuer() {
    let callback = "http://127.0.0.1:9/callback";
    let Some(provider) = start_provider(callback, "ES256").await else {
        return;
    };
    let rp = |issuer: String| {
        RelyingParty::new(OidcConfig {
            issuer,
            client_id: "muster".into(),
            client_secret: Secret::new(SECRET),
            redirect_url: "http://127.0.0.1:9/callback".into(),
            scopes: vec!["openid".into(), "profile".into(), "groups".into()],
        })
        .unwrap()
    };
    let right = rp(provider.issuer.clone());
    let (auth, binding) = right.begin("/people".into()).await.unwrap();
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let back = through_provider(&client, auth, "alice", callback).await;
    let pair = |name: &str| {
        back.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let query = CallbackQuery {
        code: pair("code"),
        state: pair("state"),
        iss: pair("iss"),
        ..CallbackQuery::default()
    };
    let who = right.finish(query, &binding).await.unwrap();
    assert_eq!(
        (who.subject.as_str(), who.name.as_str(), who.next.as_str()),
        ("alice", "Alice Admin", "/people")
    );
    assert_eq!(who.issuer, provider.issuer);
    assert_eq!(
        who.claims["groups"],
        serde_json::json!(["staff", "muster-admins"])
    );

    let wrong = rp(provider.issuer.replace("127.0.0.1", "localhost"));
    let e = wrong.begin("/".into()).await.unwrap_err();
    // Refused for the name, not for want of an answer (localhost reaches the provider too).
    assert!(matches!(e, OidcError::Discovery(_)), "{e}");
    assert!(e.to_string().contains("unexpected issuer"), "{e}");
    drop(provider);
}
