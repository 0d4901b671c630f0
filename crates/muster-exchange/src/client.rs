//! The one client module for Microsoft's APIs (the Exchange admin API is undocumented and may
//! change shape: everything that knows its URLs and headers is here). It sends with a bearer
//! token per audience, waits out 429 with `Retry-After`, retries 5xx, timeouts and resets with
//! backoff, refreshes an expired token once, and stops at the read's deadline. Nothing here
//! logs a token, a secret or a body.

use crate::certificate::{ClientCertificate, ASSERTION_TYPE};
use crate::config::ExchangeOnlineConfig;
use crate::wire::{self, Page};
use muster_connectors::http::retry::{parse_retry_after, RetryPolicy};
use muster_core::secret::Secret;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("Muster/", env!("CARGO_PKG_VERSION"));

/// Which API a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Audience {
    Exchange,
    Graph,
}

impl Audience {
    fn resource(self) -> &'static str {
        match self {
            Audience::Exchange => "https://outlook.office365.com",
            Audience::Graph => "https://graph.microsoft.com",
        }
    }
}

/// How tokens are obtained. `Debug` shows no secret.
pub enum Credentials {
    Secret {
        client_id: String,
        secret: Secret,
    },
    /// Client credentials with a certificate: a signed client assertion per token request.
    Certificate {
        client_id: String,
        certificate: Box<ClientCertificate>,
    },
    ManagedIdentity {
        endpoint: String,
        header: Secret,
        client_id: Option<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Secret { client_id, .. } => f
                .debug_struct("Secret")
                .field("client_id", client_id)
                .field("secret", &"***")
                .finish(),
            Credentials::Certificate {
                client_id,
                certificate,
            } => f
                .debug_struct("Certificate")
                .field("client_id", client_id)
                .field("certificate", certificate)
                .finish(),
            Credentials::ManagedIdentity { endpoint, .. } => f
                .debug_struct("ManagedIdentity")
                .field("endpoint", endpoint)
                .field("header", &"***")
                .finish(),
        }
    }
}

/// Why a call failed, for the read to turn into its error or a record's reason.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The service answered with this status and message (after any retries).
    #[error("{what}: HTTP {status}: {message}")]
    Status {
        what: String,
        status: StatusCode,
        message: String,
    },
    /// No usable answer after every attempt (timeouts, resets, 5xx, 429, garbage).
    #[error("{what}: {detail}")]
    Failed { what: String, detail: String },
}

impl CallError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            CallError::Status { status, .. } => Some(*status),
            CallError::Failed { .. } => None,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            CallError::Status { message, .. } => message,
            CallError::Failed { detail, .. } => detail,
        }
    }
}

/// A client for one read.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    credentials: Credentials,
    token_url: String,
    exchange_base: String,
    graph_base: String,
    anchor: String,
    policy: RetryPolicy,
    max_retry_after: Duration,
    deadline: Instant,
    page_size: u32,
    tokens: Mutex<BTreeMap<Audience, (Secret, Instant)>>,
}

impl Client {
    pub fn new(
        cfg: &ExchangeOnlineConfig,
        credentials: Credentials,
        deadline: Instant,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(USER_AGENT)
            .timeout(Duration::from_secs(cfg.timeout_s))
            .connect_timeout(Duration::from_secs(cfg.timeout_s.min(30)))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let tenant = cfg.tenant.trim();
        Ok(Self {
            http,
            credentials,
            token_url: cfg.token_url(),
            exchange_base: format!(
                "{}/adminapi/beta/{tenant}",
                cfg.exchange_url.trim_end_matches('/')
            ),
            graph_base: format!("{}/v1.0", cfg.graph_url.trim_end_matches('/')),
            anchor: format!("APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{tenant}"),
            policy: RetryPolicy {
                max_attempts: cfg.max_attempts.max(1),
                base: Duration::from_millis(200),
                cap: Duration::from_secs(10),
                max_elapsed: Duration::from_secs(cfg.read_deadline_s),
            },
            max_retry_after: Duration::from_secs(cfg.max_retry_after_s),
            deadline,
            page_size: cfg.page_size,
            tokens: Mutex::new(BTreeMap::new()),
        })
    }

    /// `{base}/adminapi/beta/{tenant}/{path}`.
    pub fn exchange_url(&self, path: &str) -> String {
        format!("{}/{path}", self.exchange_base)
    }

    /// `{base}/v1.0/{path}`.
    pub fn graph_url(&self, path: &str) -> String {
        format!("{}/{path}", self.graph_base)
    }

    /// The Exchange admin API's headers besides auth.
    fn exchange_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        let page = format!("odata.maxpagesize={}", self.page_size);
        for (k, v) in [
            ("Prefer", page.as_str()),
            ("X-ResponseFormat", "json"),
            ("X-AnchorMailbox", self.anchor.as_str()),
        ] {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.insert(k, v);
            }
        }
        h
    }

    /// GET on the Exchange admin API.
    pub async fn exchange_get(&self, url: &str, what: &str) -> Result<Value, CallError> {
        self.call(Audience::Exchange, Method::GET, url, None, what)
            .await
    }

    /// POST on the Exchange admin API (`InvokeCommand`, `$batch`: reads, safe to repeat).
    pub async fn exchange_post(
        &self,
        url: &str,
        body: &Value,
        what: &str,
    ) -> Result<Value, CallError> {
        self.call(Audience::Exchange, Method::POST, url, Some(body), what)
            .await
    }

    /// Every item of a paged GET (following `@odata.nextLink`); any failed page fails it all.
    pub async fn all_pages(
        &self,
        audience: Audience,
        url: &str,
        what: &str,
    ) -> Result<Vec<Value>, CallError> {
        self.pages(audience, Method::GET, url, None, what).await
    }

    /// Every item of a paged `InvokeCommand` (the same body is POSTed to each nextLink).
    pub async fn invoke_all(&self, body: &Value, what: &str) -> Result<Vec<Value>, CallError> {
        let url = self.exchange_url("InvokeCommand");
        self.pages(Audience::Exchange, Method::POST, &url, Some(body), what)
            .await
    }

    async fn pages(
        &self,
        audience: Audience,
        method: Method,
        url: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Vec<Value>, CallError> {
        let mut items = Vec::new();
        let first = url;
        let mut next = Some(url.to_owned());
        let mut page_no = 0u32;
        // Bounded: a service that keeps sending links stops at the deadline, and at this many.
        while let Some(url) = next.take() {
            page_no += 1;
            if page_no > 100_000 {
                return Err(CallError::Failed {
                    what: what.into(),
                    detail: "more than 100000 pages; stopped".into(),
                });
            }
            let label = format!("{what}, page {page_no}");
            let answer = self
                .call(audience, method.clone(), &url, body, &label)
                .await?;
            let page: Page = serde_json::from_value(answer).map_err(|e| CallError::Failed {
                what: label.clone(),
                detail: format!("not a page of results: {e}"),
            })?;
            items.extend(page.value);
            if let Some(link) = &page.next_link {
                check_same_origin(first, link, &label)?;
            }
            next = page.next_link;
        }
        Ok(items)
    }

    async fn call(
        &self,
        audience: Audience,
        method: Method,
        url: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, CallError> {
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let token = self.token(audience).await?;
            let mut req = self
                .http
                .request(method.clone(), url)
                .bearer_auth(token.expose());
            if audience == Audience::Exchange {
                req = req.headers(self.exchange_headers());
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let outcome = self.settle(req.send().await).await;
            match outcome {
                Outcome::Done(v) => return Ok(v),
                Outcome::Unauthorized(message) if !refreshed => {
                    tracing::debug!(what, "Token refused; fetching a new one.");
                    refreshed = true;
                    self.forget(audience);
                    attempt -= 1;
                    let _ = message;
                }
                Outcome::Unauthorized(message) => {
                    return Err(CallError::Status {
                        what: what.into(),
                        status: StatusCode::UNAUTHORIZED,
                        message,
                    })
                }
                Outcome::Final(status, message) => {
                    return Err(CallError::Status {
                        what: what.into(),
                        status,
                        message,
                    })
                }
                Outcome::Again { wait, detail } => {
                    self.wait_or_fail(attempt, wait, what, &detail).await?;
                }
            }
        }
    }

    /// Waits before the next attempt, or fails when the attempts or the deadline are spent.
    async fn wait_or_fail(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        what: &str,
        detail: &str,
    ) -> Result<(), CallError> {
        let fail = |why: String| CallError::Failed {
            what: what.into(),
            detail: why,
        };
        if attempt >= self.policy.max_attempts {
            return Err(fail(format!("{detail} (gave up after {attempt} attempts)")));
        }
        let wait = match retry_after {
            Some(w) if w > self.max_retry_after => {
                return Err(fail(format!(
                    "{detail}; the service asks to wait {} s, more than max_retry_after_s ({} s)",
                    w.as_secs(),
                    self.max_retry_after.as_secs()
                )))
            }
            Some(w) => w,
            None => self.policy.backoff(attempt - 1),
        };
        if Instant::now() + wait >= self.deadline {
            return Err(fail(format!(
                "{detail}; the read's deadline (read_deadline_s) comes first"
            )));
        }
        tracing::debug!(
            what,
            attempt,
            wait_ms = wait.as_millis() as u64,
            "Retrying."
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }

    async fn settle(&self, sent: Result<reqwest::Response, reqwest::Error>) -> Outcome {
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "the connection failed"
                };
                return Outcome::Again {
                    wait: None,
                    detail: format!("{kind} ({})", without_url(&e)),
                };
            }
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Outcome::Again {
                    wait: None,
                    detail: format!("the answer was cut short ({})", without_url(&e)),
                }
            }
        };
        let json = serde_json::from_slice::<Value>(&bytes);
        let message = || {
            json.as_ref()
                .ok()
                .and_then(wire::error_message)
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned())
        };
        match status {
            s if s.is_success() => match json {
                Ok(v) => Outcome::Done(v),
                Err(e) => Outcome::Again {
                    wait: None,
                    detail: format!("HTTP {s} with a body that is not JSON ({e})"),
                },
            },
            StatusCode::TOO_MANY_REQUESTS => Outcome::Again {
                wait: retry_after.or(Some(Duration::from_secs(1))),
                detail: format!("throttled (HTTP 429: {})", message()),
            },
            StatusCode::UNAUTHORIZED => Outcome::Unauthorized(message()),
            s if s.is_server_error() => Outcome::Again {
                wait: retry_after,
                detail: format!("HTTP {s}: {}", message()),
            },
            s => Outcome::Final(s, message()),
        }
    }

    fn forget(&self, audience: Audience) {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&audience);
    }

    /// A live token for `audience`, fetched when there is none or it is about to expire.
    async fn token(&self, audience: Audience) -> Result<Secret, CallError> {
        {
            let tokens = self
                .tokens
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((t, until)) = tokens.get(&audience) {
                if Instant::now() + Duration::from_secs(60) < *until {
                    return Ok(t.clone());
                }
            }
        }
        let (token, lifetime) = self.fetch_token(audience).await?;
        let until = Instant::now() + lifetime;
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(audience, (token.clone(), until));
        Ok(token)
    }

    async fn fetch_token(&self, audience: Audience) -> Result<(Secret, Duration), CallError> {
        let what = match &self.credentials {
            Credentials::Secret { .. } => "token endpoint (client credentials)",
            Credentials::Certificate { .. } => "token endpoint (client credentials, certificate)",
            Credentials::ManagedIdentity { .. } => "managed identity endpoint",
        };
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let req = match &self.credentials {
                Credentials::Secret { client_id, secret } => {
                    let scope = format!("{}/.default", audience.resource());
                    self.http.post(&self.token_url).form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id.as_str()),
                        ("client_secret", secret.expose()),
                        ("scope", scope.as_str()),
                    ])
                }
                Credentials::Certificate {
                    client_id,
                    certificate,
                } => {
                    let scope = format!("{}/.default", audience.resource());
                    // A fresh assertion (its own jti) for every attempt: Entra refuses a replay.
                    let now = SystemTime::now()
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    let assertion = certificate
                        .assertion(client_id, &self.token_url, now)
                        .map_err(|detail| CallError::Failed {
                            what: what.into(),
                            detail,
                        })?;
                    self.http.post(&self.token_url).form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id.as_str()),
                        ("client_assertion_type", ASSERTION_TYPE),
                        ("client_assertion", assertion.as_str()),
                        ("scope", scope.as_str()),
                    ])
                }
                Credentials::ManagedIdentity {
                    endpoint,
                    header,
                    client_id,
                } => {
                    let resource = format!("{}/", audience.resource());
                    let mut q = vec![
                        ("api-version", "2019-08-01"),
                        ("resource", resource.as_str()),
                    ];
                    if let Some(id) = client_id {
                        q.push(("client_id", id.as_str()));
                    }
                    self.http
                        .get(endpoint)
                        .query(&q)
                        .header("X-IDENTITY-HEADER", header.expose())
                }
            };
            match self.settle(req.send().await).await {
                Outcome::Done(v) => return read_token(&v, what),
                Outcome::Unauthorized(m) => {
                    return Err(CallError::Status {
                        what: what.into(),
                        status: StatusCode::UNAUTHORIZED,
                        message: m,
                    })
                }
                Outcome::Final(status, message) => {
                    return Err(CallError::Status {
                        what: what.into(),
                        status,
                        message,
                    })
                }
                Outcome::Again { wait, detail } => {
                    self.wait_or_fail(attempt, wait, what, &detail).await?
                }
            }
        }
    }
}

/// The token and its lifetime from a token answer (`expires_in`, or MSI's `expires_on`).
fn read_token(v: &Value, what: &str) -> Result<(Secret, Duration), CallError> {
    let token = v["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CallError::Failed {
            what: what.into(),
            detail: "the answer holds no access_token".into(),
        })?;
    let number = |v: &Value| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    };
    let lifetime = number(&v["expires_in"])
        .or_else(|| {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            number(&v["expires_on"]).map(|on| on.saturating_sub(now))
        })
        .unwrap_or(300);
    Ok((Secret::new(token), Duration::from_secs(lifetime)))
}

/// A reqwest error's text without the URL (which may name a mailbox).
fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    last.unwrap_or_else(|| "no detail".into())
}

enum Outcome {
    Done(Value),
    Unauthorized(String),
    Final(StatusCode, String),
    Again {
        wait: Option<Duration>,
        detail: String,
    },
}

/// A page's `@odata.nextLink` must stay on the service the read started at: the token is sent
/// with it, so a link to another origin (scheme, host, port) fails the read instead.
fn check_same_origin(first: &str, link: &str, what: &str) -> Result<(), CallError> {
    let origin = |u: &str| {
        reqwest::Url::parse(u).ok().map(|u| {
            (
                u.scheme().to_owned(),
                u.host_str().map(str::to_owned),
                u.port_or_known_default(),
            )
        })
    };
    match (origin(first), origin(link)) {
        (Some(a), Some(b)) if a == b => Ok(()),
        (_, b) => Err(CallError::Failed {
            what: what.into(),
            detail: format!(
                "the link to the next page points elsewhere ({}): refused, the token is not sent there",
                b.and_then(|(_, host, _)| host)
                    .unwrap_or_else(|| "not a URL".into())
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_next_link_to_another_origin_fails_the_read() {
        let first = "https://outlook.office365.com/adminapi/beta/t/InvokeCommand";
        assert!(check_same_origin(
            first,
            "https://outlook.office365.com/adminapi/beta/t/InvokeCommand?$skiptoken=x",
            "p"
        )
        .is_ok());
        for elsewhere in [
            "https://evil.example/adminapi/beta/t/InvokeCommand?$skiptoken=x",
            "http://outlook.office365.com/adminapi/beta/t/InvokeCommand",
            "https://outlook.office365.com:8443/adminapi/beta/t/InvokeCommand",
            "not a url",
        ] {
            let refused = check_same_origin(first, elsewhere, "mailboxes, page 2").unwrap_err();
            assert!(
                refused.to_string().contains("points elsewhere"),
                "{refused}"
            );
        }
    }
}
