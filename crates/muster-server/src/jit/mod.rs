//! Just-in-time provisioning on `muster serve` (`[server.jit]`): the ways a sign-in reaches
//! Muster, each authenticated by its own mechanism (not by API tokens), and the answer within
//! the identity provider's time budget.
//!
//! - `POST /jit/entra` ([`entra`]): Entra ID's `OnTokenIssuanceStart` custom authentication
//!   extension; the bearer JWT is checked by [`jwt`]; the answer is `provideClaimsForToken`.
//! - `POST /jit/okta` ([`okta`]): Okta's SAML and token inline hooks; a shared header secret
//!   compared in constant time; the answer patches the assertion or the ID token.
//! - `GET /jit/login` → provider → `GET /jit/callback` ([`login`]): Muster as OpenID Connect
//!   relying party (the dashboard's [`crate::web::oidc::RelyingParty`]), then a redirect to
//!   the application.
//!
//! Each turns the sign-in's claims into a person ([`claims`]) keyed on the provider's stable
//! subject and hands it to the engine (`Engine::sign_in`, the one-person pipeline) in a task
//! of its own, waiting at most the hook's `deadline_ms` ([`Jit::provision`]): when the work is
//! late or fails, `fail = "open"` answers anyway (a late create goes on in the background),
//! `fail = "closed"` answers with a failure so the provider fails the sign-in. A call that does
//! not authenticate, is replayed ([`seen`]), too large, or carries bad claims is refused with
//! 400/401 (503 when the provider's keys cannot be fetched), gets no account, and leaves an
//! audit line (target `jit-<hook>`, outcome skipped, the reason in the detail). Tokens and
//! secrets are never logged.

pub mod claims;
pub mod entra;
pub mod jwt;
pub mod login;
pub mod okta;
pub mod seen;

use crate::api::error::ErrorBody;
use crate::config::{FailMode, HookPolicy, JitSettings};
use crate::state::AppState;
use crate::web::oidc::{OidcError, RelyingParty};
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use muster_core::plan::ActionKind;
use muster_core::report::{ActionOutcome, AuditEvent};
use muster_core::run::RunId;
use muster_core::{ExternalId, TargetName};
use muster_engine::jit::{JitOutcome, JitReport, SignIn};
use muster_engine::Engine;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// The JIT routes; each answers 404 while its hook is not configured.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jit/entra", post(entra::hook))
        .route("/jit/okta", post(okta::hook))
        .route("/jit/login", get(login::login))
        .route("/jit/callback", get(login::callback))
}

/// Why the hooks cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum JitSetupError {
    #[error("the Entra hook cannot be set up: {0}")]
    Entra(String),
    #[error("the JIT sign-in cannot be set up: {0}")]
    Oidc(#[from] OidcError),
}

/// The hooks at run time.
pub struct Jit {
    pub settings: JitSettings,
    engine: Arc<Engine>,
    entra: Option<jwt::Verifier>,
    rp: Option<RelyingParty>,
    seen: seen::Seen,
    /// Whether the sign-in binding cookie gets `Secure`.
    secure: bool,
}

impl Jit {
    pub fn new(
        settings: JitSettings,
        engine: Arc<Engine>,
        tls: bool,
    ) -> Result<Self, JitSetupError> {
        let entra = match &settings.entra {
            Some(e) => {
                let jwks = jwt::Jwks::new(e.jwks_url.clone(), e.jwks_refetch)
                    .map_err(JitSetupError::Entra)?;
                Some(jwt::Verifier::new(
                    jwks,
                    e.issuer.clone(),
                    e.audience.clone(),
                    e.authorized_party.clone(),
                ))
            }
            None => None,
        };
        let (rp, secure) = match &settings.oidc {
            Some(o) => (
                Some(RelyingParty::new(o.oidc.clone())?),
                tls || o.oidc.redirect_url.starts_with("https://"),
            ),
            None => (None, tls),
        };
        Ok(Self {
            settings,
            engine,
            entra,
            rp,
            seen: seen::Seen::new(seen::MAX_SEEN),
            secure,
        })
    }

    /// The Entra token checks (for tests: how often the keys were fetched).
    pub fn entra_verifier(&self) -> Option<&jwt::Verifier> {
        self.entra.as_ref()
    }

    /// Runs the one-person pipeline for `sign_in` in a task of its own and waits for it at
    /// most `policy.deadline`. A late task is not cancelled: it finishes in the background
    /// (and logs how it ended), so a fail-open answer does not lose the create.
    pub async fn provision(&self, sign_in: SignIn, policy: HookPolicy) -> Provisioned {
        let engine = self.engine.clone();
        let started = Instant::now();
        let deadline = policy.deadline;
        let task = tokio::spawn(async move {
            let subject = sign_in.subject.clone();
            let result = engine.sign_in(sign_in).await;
            if started.elapsed() > deadline {
                match &result {
                    Ok(report) => {
                        tracing::info!(subject = %subject, outcome = %summary(report), elapsed_ms = started.elapsed().as_millis() as u64, "A sign-in's provisioning ended after its hook had answered.")
                    }
                    Err(e) => {
                        tracing::warn!(subject = %subject, error = %e, "A sign-in's provisioning failed after its hook had answered.")
                    }
                }
            }
            result
        });
        match tokio::time::timeout(deadline, task).await {
            Err(_) => Provisioned::Late,
            Ok(Err(join)) => Provisioned::Failed(format!("the provisioning task stopped: {join}")),
            Ok(Ok(Err(e))) => Provisioned::Failed(e.to_string()),
            Ok(Ok(Ok(report))) => match failure(&report) {
                Some(reason) => Provisioned::Failed(reason),
                None => Provisioned::Done(report),
            },
        }
    }
}

/// How provisioning a sign-in went, as far as the hook waits for it.
#[derive(Debug)]
pub enum Provisioned {
    /// Every target answered: created, existed, not granted or refused by its policy.
    Done(JitReport),
    /// The engine or a target failed (the reason names no secret).
    Failed(String),
    /// Not finished within the deadline; it goes on in the background.
    Late,
}

impl Provisioned {
    /// Whether the hook answers as a success under `fail`.
    pub fn answers_ok(&self, fail: FailMode) -> bool {
        matches!(self, Provisioned::Done(_)) || fail == FailMode::Open
    }

    /// For logs and failure answers.
    pub fn describe(&self) -> String {
        match self {
            Provisioned::Done(report) => summary(report),
            Provisioned::Failed(reason) => format!("failed: {reason}"),
            Provisioned::Late => "not finished within the deadline".to_owned(),
        }
    }
}

/// The first failed target of a report, if any.
fn failure(report: &JitReport) -> Option<String> {
    report.targets.iter().find_map(|t| match &t.outcome {
        JitOutcome::Failed { reason } => Some(format!("{}: {reason}", t.target)),
        _ => None,
    })
}

/// One line per report: `zivver created (granted Sales), scim exists`.
fn summary(report: &JitReport) -> String {
    if report.targets.is_empty() {
        return "no target provisions at sign-in".to_owned();
    }
    report
        .targets
        .iter()
        .map(|t| {
            let what = match &t.outcome {
                JitOutcome::Created { granted, .. } if !granted.is_empty() => {
                    return format!("{} created (granted {})", t.target, granted.join(", "));
                }
                JitOutcome::Created { .. } => "created",
                JitOutcome::Exists { .. } => "exists",
                JitOutcome::NotGranted { .. } => "not granted",
                JitOutcome::Refused { .. } => "refused",
                JitOutcome::Failed { .. } => "failed",
            };
            format!("{} {what}", t.target)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A hook call refused before any provisioning.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: String,
    /// Who the call claimed to be, when known (the subject key).
    pub who: Option<String>,
}

impl Refusal {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            who: None,
        }
    }

    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }

    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, reason)
    }

    pub fn by(mut self, who: impl Into<String>) -> Self {
        self.who = Some(who.into());
        self
    }

    /// Whether this counts as a failed authentication of the caller's address.
    fn is_auth_failure(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
    }
}

/// Logs, audits and answers a refused hook call. Failed authentications count towards the
/// address's limit (past it the address gets 429 without an audit line, so a flood cannot
/// fill the audit).
pub async fn refuse(state: &AppState, hook: &str, ip: IpAddr, refusal: Refusal) -> Response {
    if refusal.is_auth_failure() {
        state.failures.record_failure(ip, Instant::now());
        state.metrics.auth_failed();
    }
    // Debug, not Display: a reason may quote caller text.
    tracing::warn!(hook, client = %ip, status = refusal.status.as_u16(), who = ?refusal.who, reason = ?refusal.reason, "JIT sign-in refused.");
    audit_refusal(state, hook, &refusal).await;
    error_response(refusal.status, &refusal.reason)
}

async fn audit_refusal(state: &AppState, hook: &str, refusal: &Refusal) {
    let event = AuditEvent {
        at: chrono::Utc::now(),
        run: RunId::from(format!("jit-{hook}")),
        target: TargetName::new(format!("jit-{hook}")),
        person: ExternalId::new(
            refusal
                .who
                .clone()
                .unwrap_or_else(|| "(unknown)".to_owned()),
        ),
        action: ActionKind::Create,
        outcome: ActionOutcome::Skipped,
        account: None,
        reason: "sign-in refused".to_owned(),
        detail: Some(format!("{} {}", refusal.status.as_u16(), refusal.reason)),
        changes: Vec::new(),
        permission: None,
    };
    if let Err(e) = state.store.append_audit(&[event]).await {
        tracing::error!(error = %e, hook, "The refused sign-in could not be audited.");
    }
}

/// The address-wide limit on failed authentications, checked first.
pub fn too_many(state: &AppState, ip: IpAddr) -> Option<Response> {
    let wait = state.failures.blocked_for(ip, Instant::now())?;
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed calls from this address; try again in a minute",
    );
    if let Ok(v) = header::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Some(response)
}

/// `{"error": code, "message": text}` with `status`.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "internal",
    };
    let body = ErrorBody {
        error: code.to_owned(),
        message: message.to_owned(),
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// The request body, at most `limit` bytes.
pub async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, Refusal> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {limit} bytes (or could not be read)"),
        )
    })
}

/// The value of the `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The person key of an OpenID Connect identity: Entra's `tid` + `oid` when the token has
/// them (so a person signing in through the extension and through Muster is one), else the
/// issuer and `sub`.
pub fn subject_key(issuer: &str, sub: &str, tid: Option<&str>, oid: Option<&str>) -> String {
    match (tid, oid) {
        (Some(tid), Some(oid)) => entra_key(tid, oid),
        _ => format!("{issuer}#{sub}"),
    }
}

/// Entra's person key.
pub fn entra_key(tid: &str, oid: &str) -> String {
    format!("entra:{tid}:{oid}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_bearer_token_is_read_from_the_authorization_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn persons_are_keyed_on_the_stable_subject() {
        assert_eq!(
            subject_key("https://idp", "abc", None, None),
            "https://idp#abc"
        );
        assert_eq!(
            subject_key("https://idp", "abc", Some("t"), Some("o")),
            "entra:t:o"
        );
    }

    #[test]
    fn a_late_or_failed_sign_in_answers_only_when_failing_open() {
        let done = Provisioned::Done(JitReport {
            person: ExternalId::new("p"),
            targets: vec![],
        });
        assert!(done.answers_ok(FailMode::Closed));
        for p in [Provisioned::Late, Provisioned::Failed("x".into())] {
            assert!(p.answers_ok(FailMode::Open));
            assert!(!p.answers_ok(FailMode::Closed));
        }
    }
}
