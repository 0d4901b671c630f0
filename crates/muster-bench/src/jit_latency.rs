//! `muster-bench jit-latency`: how fast `muster serve` answers Entra's `OnTokenIssuanceStart`
//! call when the sign-in creates the account on the Zivver simulator (its rate limit off and
//! Muster's budget for it raised, so the figure is Muster's own work plus the target's round
//! trips, not Zivver's 50 requests per 10 s, which allows some 2.5 sign-ins per second).
//! Three series: the default deadline (1,500 ms) failing open and failing closed, and failing
//! open at 15 ms, where the hook answers by its deadline and the create goes on in the
//! background. Each: N sign-ins of distinct persons, `--concurrency` in flight at every moment,
//! each with its own RS256 token, signed before the clock starts by a key made here and served
//! as a JWKS on 127.0.0.1; p50, p99,
//! p99.9 and max of the answer, sign-ins per second, and the accounts the simulator holds when
//! the last answer came and once the background creates are done (waited for at most 60 s).

use anyhow::{Context, Result};
use axum::routing::get;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use muster_server::Service;
use muster_sim::zivver::{ZivverSim, ZivverSimConfig};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const TENANT: &str = "bench-tenant";
const ISSUER: &str = "https://login.microsoftonline.com/bench-tenant/v2.0";
const AUDIENCE: &str = "api://muster-bench";

pub async fn run(signins: usize, concurrency: usize) -> Result<()> {
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
    let der = key.to_pkcs1_der()?.as_bytes().to_vec();
    let jwk = json!({"kty": "RSA", "use": "sig", "kid": "bench", "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()), "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let jwks_url = format!("http://{}/keys", listener.local_addr()?);
    let keys = json!({"keys": [jwk]});
    let app = axum::Router::new().route("/keys", get(move || async move { axum::Json(keys) }));
    let jwks = tokio::spawn(async move { axum::serve(listener, app).await });
    let signer = Arc::new(EncodingKey::from_rsa_der(&der));
    // The default deadline failing open and closed, then failing open at a deadline of
    // 15 ms: the hook answers by then and the creates finish in the background.
    for (fail, deadline_ms) in [("open", 1500), ("closed", 1500), ("open", 15)] {
        let run = Run {
            fail,
            deadline_ms,
            signins,
            concurrency,
        };
        one(run, &jwks_url, signer.clone()).await?;
    }
    jwks.abort();
    Ok(())
}

/// One measured series of sign-ins.
struct Run {
    fail: &'static str,
    deadline_ms: u64,
    signins: usize,
    concurrency: usize,
}

/// How long the bench waits for creates that go on after a fail-open answer.
const BACKGROUND_WAIT: Duration = Duration::from_secs(60);

async fn one(run: Run, jwks_url: &str, signer: Arc<EncodingKey>) -> Result<()> {
    let Run {
        fail,
        deadline_ms,
        signins,
        concurrency,
    } = run;
    let zivver = ZivverSim::start(ZivverSimConfig {
        tokens: vec!["bench".into()],
        switches: muster_sim::zivver::ZivverSwitches::without_rate_limit(),
        ..ZivverSimConfig::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let token = dir.path().join("token");
    std::fs::write(&token, "bench")?;
    let persons = dir.path().join("persons.csv");
    std::fs::write(&persons, "ExternalId;Contact.Business.Email\n")?;
    let config = dir.path().join("muster.toml");
    std::fs::write(
        &config,
        format!(
            r#"[store]
path = {db:?}

[source]
kind = "csv"
persons = {persons:?}

[targets.zivver]
kind = "zivver"
connection = {{ base_url = "{url}", token = {{ file = {token:?} }}, rate_limit = {{ requests = 10000, per_seconds = 1 }} }}
correlation = {{ person = "Contact.Business.Email", account = "userName" }}
jit = true

[[targets.zivver.mapping]]
field = "userName"
path = "Contact.Business.Email"

[[targets.zivver.mapping]]
field = "name.formatted"
template = "{{Name.GivenName}} {{Name.FamilyName}}"

[[rules]]
name = "Everyone gets an account"
account = true

[server]
listen = "127.0.0.1:0"

[server.jit]
fail = "{fail}"
deadline_ms = {deadline_ms}
answer_claims = {{ DomainKey = "bench" }}

[server.jit.entra]
tenant_id = "{TENANT}"
jwks_url = "{jwks_url}"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
"#,
            db = dir.path().join("muster.db").display().to_string(),
            persons = persons.display().to_string(),
            token = token.display().to_string(),
            url = zivver.base_url,
        ),
    )?;
    let serving = Service::open(&config, std::iter::empty())
        .await?
        .start()
        .await?;
    let url = format!("http://{}/jit/entra", serving.addr);
    let client = reqwest::Client::new();
    // The identity provider signs the tokens, not Muster: they are made before the clock
    // starts, so signing (RSA, ~1-2 ms each) does not take cores from the server measured.
    let tokens = (0..signins)
        .map(|i| signed_token(&signer, i))
        .collect::<Result<Vec<_>>>()?;
    let started = Instant::now();
    let mut took: Vec<Duration> = Vec::with_capacity(signins);
    let mut failed = 0usize;
    // `concurrency` sign-ins in flight at every moment: the next starts when one is answered.
    let mut in_flight: tokio::task::JoinSet<Result<(bool, Duration)>> = tokio::task::JoinSet::new();
    for (i, token) in tokens.into_iter().enumerate() {
        if in_flight.len() >= concurrency {
            let (ok, d) = in_flight
                .join_next()
                .await
                .context("no sign-in in flight")???;
            took.push(d);
            failed += usize::from(!ok);
        }
        let (client, url) = (client.clone(), url.clone());
        in_flight.spawn(async move { sign_in(&client, &url, &token, i).await });
    }
    while let Some(done) = in_flight.join_next().await {
        let (ok, d) = done??;
        took.push(d);
        failed += usize::from(!ok);
    }
    let elapsed = started.elapsed();
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let answered = zivver.state.users().len();
    // Creates still going on after a fail-open answer: wait for them (bounded) so the
    // figure says whether every sign-in got its account in the end.
    let waiting = Instant::now();
    while zivver.state.users().len() < signins && waiting.elapsed() < BACKGROUND_WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let accounts = zivver.state.users().len();
    println!(
        "fail {fail}, deadline {deadline_ms} ms: {signins} sign-ins, {concurrency} at a time: p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms; {:.0} sign-ins/s; {failed} non-200 answers; {answered} Zivver accounts when the last answer came, {accounts} after {:.1} s more",
        ms(at(0.50)),
        ms(at(0.99)),
        ms(at(0.999)),
        ms(*took.last().context("no sign-in")?),
        signins as f64 / elapsed.as_secs_f64(),
        waiting.elapsed().as_secs_f64(),
    );
    serving.shutdown().await?;
    zivver.shutdown().await?;
    Ok(())
}

/// A token of the Entra hook's caller for sign-in `i`.
fn signed_token(signer: &EncodingKey, i: usize) -> Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("bench".into());
    let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "azp": muster_server::config::ENTRA_EVENTS_APP,
        "tid": TENANT, "iat": now, "nbf": now, "exp": now + 900, "uti": format!("bench-{i}")});
    Ok(jsonwebtoken::encode(&header, &claims, signer)?)
}

async fn sign_in(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    i: usize,
) -> Result<(bool, Duration)> {
    let body: Value = json!({"type": "microsoft.graph.authenticationEvent.tokenIssuanceStart",
        "data": {"tenantId": TENANT, "authenticationContext": {"correlationId": format!("c{i}"),
          "clientServicePrincipal": {"appId": "zivver"},
          "user": {"id": format!("oid-{i}"), "givenName": "Bench", "surname": format!("Person {i}"),
                   "mail": format!("bench{i}@example.org")}}}});
    let started = Instant::now();
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let ok = response.status().is_success();
    let _ = response.bytes().await?;
    Ok((ok, started.elapsed()))
}
