//! The HTTP layer every connector shares: one `reqwest` client (rustls) per target, a token
//! bucket acquired before every request, the retry loop, and request counters.
//!
//! It owns *how* a request is sent: rate, throttling, backoff, timeouts, and the rule that a
//! POST whose outcome is unknown is never repeated (it comes back as
//! [`HttpError::Uncertain`]). It leaves *what* a status means to the connector: a 404 or a 409
//! is handed back as a [`Response`] for the connector to interpret.
//!
//! Nothing here logs a header or a body: the `Authorization` value is a sensitive
//! `HeaderValue` built once from a [`Secret`], and per-request logs (debug/trace) carry only
//! method, path, status and timing.

mod json_call;
pub mod priority;
pub mod rate;
pub mod retry;
pub mod settings;

pub(crate) use json_call::JsonCall;
use muster_core::connector::ConnectorError;
use muster_core::secret::Secret;
use muster_core::TargetName;
use rate::TokenBucket;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
pub use reqwest::{Method, StatusCode, Url};
use retry::{RetryPolicy, Verdict};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::{debug, instrument, trace};

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("muster/", env!("CARGO_PKG_VERSION"));

/// How to reach one target, already validated and with secrets resolved.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Whole-request timeout (connect, send, and read the answer).
    pub timeout: Duration,
    /// PEM bundle of extra trusted CA certificates, for targets behind a private CA.
    pub ca_file: Option<PathBuf>,
    /// Token bucket: `requests` per `per`, in bursts of at most `requests`.
    pub requests: u32,
    /// The bucket's window.
    pub per: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    pub auth: Auth,
}

/// Credentials sent with every request. `Debug` never shows a secret, nor the Basic user
/// name: for HelloID that is the API key, half of the credential.
#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(Secret),
    Basic { username: String, password: Secret },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Bearer(token) => f.debug_tuple("Bearer").field(token).finish(),
            Self::Basic { password, .. } => f
                .debug_struct("Basic")
                .field("username", &format_args!("<redacted>"))
                .field("password", password)
                .finish(),
        }
    }
}

impl Auth {
    fn header(&self) -> Result<Option<HeaderValue>, String> {
        use base64::Engine as _;
        let raw = match self {
            Self::None => return Ok(None),
            Self::Bearer(token) => format!("Bearer {}", token.expose()),
            Self::Basic { username, password } => {
                let pair = format!("{username}:{}", password.expose());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
        };
        // The error must not quote the value.
        let mut value = HeaderValue::from_str(&raw).map_err(|_| {
            "the credential contains characters that cannot be sent in an HTTP header".to_owned()
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }
}

/// One request, owned so it can be sent again.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Vec<u8>>,
    /// Sending it twice may do it twice although the method is idempotent by definition (a
    /// SCIM PATCH `add` of a member, to a server that lists a member as often as it is added):
    /// like a POST, it is never sent again once it may have reached the target, and an unknown
    /// outcome comes back as [`HttpError::Uncertain`] for the caller to settle by a read.
    pub at_most_once: bool,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: Vec::new(),
            body: None,
            at_most_once: false,
        }
    }

    /// Marks the request as not to be repeated blindly; see [`Self::at_most_once`].
    pub fn at_most_once(mut self) -> Self {
        self.at_most_once = true;
        self
    }

    /// Whether sending it again after an unknown outcome is harmless.
    pub fn repeatable(&self) -> bool {
        retry::is_idempotent(&self.method) && !self.at_most_once
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }
}

/// A complete answer (any status the retry loop did not absorb).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The request did not end in an answer the caller can interpret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// No answer, or one that may or may not have been applied: a timeout, a reset, a 5xx —
    /// after the retries allowed for this method, or at once for a POST.
    #[error("{detail} (after {attempts} attempt(s))")]
    Uncertain {
        status: Option<u16>,
        detail: String,
        attempts: u32,
    },
    /// Still told to slow down (429) when the attempts or the time budget ran out.
    #[error("still rate limited after {attempts} attempt(s)")]
    Throttled {
        retry_after: Option<Duration>,
        attempts: u32,
    },
}

/// Requests sent, by method, since the client was built. Every attempt counts, retries
/// included: this is what the target sees. Shared, so benchmarks can read it while a run goes.
#[derive(Debug, Default)]
pub struct RequestCounters {
    get: AtomicU64,
    post: AtomicU64,
    put: AtomicU64,
    patch: AtomicU64,
    delete: AtomicU64,
    other: AtomicU64,
    throttled: AtomicU64,
    retried: AtomicU64,
}

/// A snapshot of [`RequestCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub get: u64,
    pub post: u64,
    pub put: u64,
    pub patch: u64,
    pub delete: u64,
    pub other: u64,
    /// Answers that were 429 (or 503 on a method safe to repeat).
    pub throttled: u64,
    /// Attempts after the first, for any reason.
    pub retried: u64,
}

impl RequestCounts {
    /// Requests sent, all methods.
    pub fn total(&self) -> u64 {
        self.get + self.post + self.put + self.patch + self.delete + self.other
    }
}

impl RequestCounters {
    fn record(&self, method: &Method) {
        let slot = match *method {
            Method::GET => &self.get,
            Method::POST => &self.post,
            Method::PUT => &self.put,
            Method::PATCH => &self.patch,
            Method::DELETE => &self.delete,
            _ => &self.other,
        };
        slot.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> RequestCounts {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RequestCounts {
            get: l(&self.get),
            post: l(&self.post),
            put: l(&self.put),
            patch: l(&self.patch),
            delete: l(&self.delete),
            other: l(&self.other),
            throttled: l(&self.throttled),
            retried: l(&self.retried),
        }
    }
}

/// One target's HTTP client. Cheap to share behind an `Arc`; all workers of a target use the
/// same one, so they share its bucket and its pauses.
#[derive(Debug)]
pub struct HttpClient {
    target: TargetName,
    client: reqwest::Client,
    auth: Option<HeaderValue>,
    bucket: Arc<TokenBucket>,
    in_flight: Semaphore,
    retry: RetryPolicy,
    counters: Arc<RequestCounters>,
    throttle_hint: Option<ThrottleHint>,
    final_hint: Option<FinalHint>,
}

/// Reads how long a throttled answer (429, or 503 on a method safe to repeat) asks to wait
/// when it carries no usable `Retry-After`, for targets that say it elsewhere (Zivver names
/// its rate window in a JSON body). `None` falls back to the exponential backoff.
pub type ThrottleHint = fn(&Response) -> Option<Duration>;

/// Says that a 5xx answer is nevertheless final, for targets whose error body can tell (HelloID
/// answers `User not found` under a status nobody documented): such an answer is handed back
/// to the caller instead of being retried or reported as uncertain. Never consulted for 429.
pub type FinalHint = fn(&Response) -> bool;

impl HttpClient {
    /// Builds the client. Reads `ca_file`; does not contact the target.
    pub fn new(target: TargetName, cfg: &HttpConfig) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .user_agent(USER_AGENT)
            // A SCIM API has no business redirecting; following one could carry a POST or the
            // credentials somewhere unexpected.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &cfg.ca_file {
            let pem =
                std::fs::read(path).map_err(|e| format!("ca_file `{}`: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("ca_file `{}`: not a PEM bundle: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "ca_file `{}`: holds no certificate",
                    path.display()
                ));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self {
            target,
            client,
            auth: cfg.auth.header()?,
            bucket: Arc::new(TokenBucket::new(cfg.requests, cfg.per)),
            in_flight: Semaphore::new(cfg.concurrency.max(1)),
            retry: RetryPolicy {
                max_attempts: cfg.retry.max_attempts.max(1),
                ..cfg.retry
            },
            counters: Arc::new(RequestCounters::default()),
            throttle_hint: None,
            final_hint: None,
        })
    }

    /// Derives the wait after a throttled answer without `Retry-After` from the answer itself;
    /// see [`ThrottleHint`]. Without one, such a wait is the backoff step.
    pub fn with_throttle_hint(mut self, hint: ThrottleHint) -> Self {
        self.throttle_hint = Some(hint);
        self
    }

    /// Hands back 5xx answers that `hint` calls final instead of retrying them; see
    /// [`FinalHint`].
    pub fn with_final_hint(mut self, hint: FinalHint) -> Self {
        self.final_hint = Some(hint);
        self
    }

    /// Uses `bucket` instead of the client's own, so that several clients on one rate budget
    /// (one API key) share its tokens and its pauses.
    pub fn with_bucket(mut self, bucket: Arc<TokenBucket>) -> Self {
        self.bucket = bucket;
        self
    }

    /// The token bucket this client draws from (shared).
    pub fn bucket(&self) -> Arc<TokenBucket> {
        self.bucket.clone()
    }

    pub fn target(&self) -> &TargetName {
        &self.target
    }

    /// The live counters (shared).
    pub fn counters(&self) -> Arc<RequestCounters> {
        self.counters.clone()
    }

    /// Sends `req` under the bucket, retrying as [`retry`] allows. Any answer that is not
    /// retried comes back as `Ok`, whatever its status.
    #[instrument(skip_all, fields(target = %self.target, method = %req.method, path = %req.url.path()))]
    pub async fn send(&self, req: &Request) -> Result<Response, HttpError> {
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if attempt > 1 {
                self.counters.retried.fetch_add(1, Ordering::Relaxed);
            }
            self.bucket.acquire().await;
            let outcome = {
                // One permit per attempt, not across backoff sleeps.
                let _permit = self.in_flight.acquire().await;
                self.counters.record(&req.method);
                self.attempt(req).await
            };
            let policy = &self.retry;
            let last = attempt >= policy.max_attempts;
            match outcome {
                Ok(resp) => {
                    let verdict = match retry::classify_status(req.repeatable(), resp.status) {
                        Verdict::Retry | Verdict::Uncertain | Verdict::Throttled
                            if resp.status != StatusCode::TOO_MANY_REQUESTS
                                && self.final_hint.is_some_and(|hint| hint(&resp)) =>
                        {
                            Verdict::Done
                        }
                        verdict => verdict,
                    };
                    debug!(
                        status = resp.status.as_u16(),
                        attempt,
                        ?verdict,
                        "Response."
                    );
                    match verdict {
                        Verdict::Done => return Ok(resp),
                        Verdict::Uncertain => {
                            return Err(HttpError::Uncertain {
                                status: Some(resp.status.as_u16()),
                                detail: format!("answered {}", resp.status),
                                attempts: attempt,
                            })
                        }
                        Verdict::Throttled => {
                            self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                            let told = resp
                                .header_str("retry-after")
                                .and_then(|v| retry::parse_retry_after(v, SystemTime::now()))
                                .or_else(|| self.throttle_hint.and_then(|hint| hint(&resp)));
                            let delay = told.unwrap_or_else(|| policy.backoff(attempt - 1));
                            let over_budget = started.elapsed() + delay > policy.max_elapsed;
                            // Everyone slows down, even when this request gives up.
                            self.bucket.pause_for(delay.min(policy.max_elapsed));
                            if last || over_budget {
                                return Err(if resp.status == StatusCode::TOO_MANY_REQUESTS {
                                    HttpError::Throttled {
                                        retry_after: told,
                                        attempts: attempt,
                                    }
                                } else {
                                    HttpError::Uncertain {
                                        status: Some(resp.status.as_u16()),
                                        detail: format!("answered {}", resp.status),
                                        attempts: attempt,
                                    }
                                });
                            }
                            trace!(?delay, "Target asks to slow down; pausing it.");
                        }
                        Verdict::Retry => {
                            let delay = policy.backoff(attempt - 1);
                            if last || started.elapsed() + delay > policy.max_elapsed {
                                return Err(HttpError::Uncertain {
                                    status: Some(resp.status.as_u16()),
                                    detail: format!("answered {}", resp.status),
                                    attempts: attempt,
                                });
                            }
                            tokio::time::sleep(delay).await;
                        }
                    }
                }
                Err(failure) => {
                    let verdict = retry::classify_transport(req.repeatable(), failure.never_sent);
                    debug!(attempt, error = %failure.detail, ?verdict, "No response.");
                    let delay = policy.backoff(attempt - 1);
                    let give_up = verdict == Verdict::Uncertain
                        || last
                        || started.elapsed() + delay > policy.max_elapsed;
                    if give_up {
                        return Err(HttpError::Uncertain {
                            status: None,
                            detail: failure.detail,
                            attempts: attempt,
                        });
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn attempt(&self, req: &Request) -> Result<Response, TransportFailure> {
        let mut builder = self.client.request(req.method.clone(), req.url.clone());
        if let Some(auth) = &self.auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.clone(), value.clone());
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let resp = builder.send().await.map_err(TransportFailure::from)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(TransportFailure::from)?;
        Ok(Response {
            status,
            headers,
            body: body.to_vec(),
        })
    }
}

/// A request that got no complete answer.
struct TransportFailure {
    /// The connection was never established, so the target cannot have seen the request.
    never_sent: bool,
    detail: String,
}

impl From<reqwest::Error> for TransportFailure {
    fn from(e: reqwest::Error) -> Self {
        // `without_url`: the URL may carry a filter with personal data; the caller logs the
        // path it wants.
        let never_sent = e.is_connect();
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else if e.is_body() || e.is_decode() {
            "answer cut short"
        } else {
            "no response"
        };
        let e = e.without_url();
        let mut detail = kind.to_owned();
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(s) = source {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            source = s.source();
        }
        Self { never_sent, detail }
    }
}

/// An error answer a client still reads itself (by status, SCIM type, text) before it becomes
/// [`ConnectorError::Rejected`].
pub trait Refused {
    fn rejected(self, target: &TargetName) -> ConnectorError;
}

/// A non-2xx answer other than 401/403, as the Zivver, HelloID and Zermelo clients hand it to
/// their callers: the target's error text with the request it answered.
#[derive(Debug)]
pub struct Refusal {
    pub method: Method,
    /// The path under the API URL, without its query (a query may hold personal data).
    pub path: String,
    pub status: u16,
    /// The target's own error text, as its client reads it from the body.
    pub detail: String,
}

impl Refused for Refusal {
    fn rejected(self, target: &TargetName) -> ConnectorError {
        ConnectorError::Rejected {
            target: target.clone(),
            method: self.method.to_string(),
            path: self.path,
            status: self.status,
            detail: self.detail,
        }
    }
}

/// Why a client call gave no reply: an error answer to interpret, or an error already settled
/// (no answer, throttled, credentials refused, bad JSON).
#[derive(Debug)]
pub enum Failure<R> {
    Refused(R),
    Error(ConnectorError),
}

impl<R> From<ConnectorError> for Failure<R> {
    fn from(e: ConnectorError) -> Self {
        Self::Error(e)
    }
}

impl<R: Refused> Failure<R> {
    /// The error as it stands when the caller has no better meaning for the status.
    pub fn into_error(self, target: &TargetName) -> ConnectorError {
        match self {
            Self::Refused(r) => r.rejected(target),
            Self::Error(e) => e,
        }
    }
}

/// Why a client's reading of an answer gave no reply.
#[derive(Debug)]
pub(crate) enum Garbled<R> {
    /// The answer was not JSON and the request is safe to send again.
    Again,
    Failure(Failure<R>),
}

/// Attempts at a request whose successful answer was not JSON (cut short, mangled by a proxy).
pub const GARBLED_ATTEMPTS: u32 = 3;

/// What the body of a 2xx answer means for the caller.
#[derive(Debug)]
pub enum SuccessBody {
    /// JSON, or no body at all.
    Json(Option<serde_json::Value>),
    /// Not JSON, and sending the request again is harmless.
    Again,
    /// Not JSON, and it may not be repeated (a POST: uncertain) or has been tried enough.
    Failed(ConnectorError),
}

/// Reads a successful answer's body as JSON. A body that is not JSON is sent again when
/// repeating the method is harmless, up to [`GARBLED_ATTEMPTS`]; a POST is not repeated but
/// comes back uncertain, since the create may have taken effect and only a look-up can tell.
pub fn success_body(
    target: &TargetName,
    method: &Method,
    path: &str,
    status: u16,
    body: &[u8],
    attempt: u32,
) -> SuccessBody {
    let repeatable = retry::is_idempotent(method);
    success_body_of(target, method, repeatable, path, status, body, attempt)
}

/// [`success_body`] for a request that says itself whether it may be sent again
/// ([`Request::repeatable`]); one that may not comes back uncertain, as a POST does.
pub fn success_body_of(
    target: &TargetName,
    method: &Method,
    repeatable: bool,
    path: &str,
    status: u16,
    body: &[u8],
    attempt: u32,
) -> SuccessBody {
    if body.iter().all(u8::is_ascii_whitespace) {
        return SuccessBody::Json(None);
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => SuccessBody::Json(Some(v)),
        Err(e) => {
            let detail = format!("answered {status} with a body that is not JSON: {e}");
            if !repeatable {
                SuccessBody::Failed(ConnectorError::Uncertain {
                    target: target.clone(),
                    method: method.to_string(),
                    path: path.to_owned(),
                    detail,
                })
            } else if attempt < GARBLED_ATTEMPTS {
                SuccessBody::Again
            } else {
                SuccessBody::Failed(ConnectorError::Protocol {
                    target: target.clone(),
                    detail: format!("{method} {path} {detail}"),
                })
            }
        }
    }
}

/// A request that got no usable answer, as the connector error it is.
pub fn transport_error(
    target: &TargetName,
    method: &Method,
    path: &str,
    e: HttpError,
) -> ConnectorError {
    match e {
        HttpError::Throttled { retry_after, .. } => ConnectorError::RateLimited {
            target: target.clone(),
            retry_after,
        },
        e @ HttpError::Uncertain { .. } => ConnectorError::Uncertain {
            target: target.clone(),
            method: method.to_string(),
            path: path.to_owned(),
            detail: e.to_string(),
        },
    }
}

/// Sends of one at-most-once write ([`Request::at_most_once`]) whose answers are lost; each
/// send after the first is preceded by a read that settles whether the last one took effect.
pub const AT_MOST_ONCE_SENDS: usize = 3;

/// A lost answer that a read to settle it could not settle: still uncertain, with both reasons.
pub fn still_uncertain(lost: ConnectorError, read: &ConnectorError) -> ConnectorError {
    lost.with_uncertain_detail(&format!("reading the group to settle it failed: {read}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(auth: Auth) -> HttpConfig {
        HttpConfig {
            timeout: Duration::from_secs(1),
            ca_file: None,
            requests: 10,
            per: Duration::from_secs(1),
            concurrency: 2,
            retry: RetryPolicy::default(),
            auth,
        }
    }

    #[test]
    fn debug_output_never_shows_credentials() {
        let bearer = HttpClient::new(
            "t".into(),
            &config(Auth::Bearer(Secret::new("tok-3141592653"))),
        )
        .unwrap();
        let basic = HttpClient::new(
            "t".into(),
            &config(Auth::Basic {
                username: "muster".into(),
                password: Secret::new("pw-2718281828"),
            }),
        )
        .unwrap();
        let shown = format!(
            "{bearer:?} {basic:?} {:?}",
            config(Auth::Bearer(Secret::new("tok-3141592653")))
        );
        assert!(!shown.contains("3141592653"), "{shown}");
        assert!(!shown.contains("2718281828"), "{shown}");
        // Nor base64 of `muster:pw-…`.
        assert!(!shown.contains("bXVzdGVyOnB3"), "{shown}");
    }

    #[test]
    fn debug_output_never_shows_the_basic_user_name() {
        // For HelloID the user name is the API key.
        let auth = Auth::Basic {
            username: "key-1618033988".into(),
            password: Secret::new("pw-2718281828"),
        };
        let client = HttpClient::new("t".into(), &config(auth.clone())).unwrap();
        let shown = format!("{auth:?} {:?} {client:?}", config(auth.clone()));
        assert!(!shown.contains("1618033988"), "{shown}");
        assert!(!shown.contains("2718281828"), "{shown}");
        assert!(
            shown.contains("Basic"),
            "the variant is still named: {shown}"
        );
        assert_eq!(format!("{:?}", Auth::None), "None");
    }

    #[test]
    fn a_credential_that_cannot_be_a_header_is_refused_without_quoting_it() {
        let err = HttpClient::new(
            "t".into(),
            &config(Auth::Bearer(Secret::new("a\nb-secret"))),
        )
        .unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn a_ca_file_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let mut cfg = config(Auth::None);
        cfg.ca_file = Some(path);
        let err = HttpClient::new("t".into(), &cfg).unwrap_err();
        assert!(err.contains("ca.pem"), "{err}");
        cfg.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(HttpClient::new("t".into(), &cfg).is_err());
    }

    #[test]
    fn counters_count_by_method() {
        let c = RequestCounters::default();
        for m in [
            Method::GET,
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::HEAD,
        ] {
            c.record(&m);
        }
        let s = c.snapshot();
        assert_eq!(
            (s.get, s.post, s.patch, s.other, s.total()),
            (2, 1, 1, 1, 5)
        );
    }
}
