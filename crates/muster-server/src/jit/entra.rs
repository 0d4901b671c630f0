//! `POST /jit/entra`: Entra ID's `OnTokenIssuanceStart` custom authentication extension.
//! Entra calls it just before it issues a token (OIDC and SAML apps alike) with a bearer JWT
//! ([`super::jwt`]) and the signing-in user; the answer is `provideClaimsForToken` with the
//! configured answer claims (e.g. Zivver's DomainKey). A non-2xx answer fails the sign-in.

use super::claims::ClaimMap;
use super::{bearer, entra_key, error_response, read_body, refuse, too_many, Jit, Refusal};
use crate::config::EntraSettings;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use muster_core::Person;
use muster_engine::jit::{SignIn, SignInVia};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The event type of the calls this endpoint takes.
pub const EVENT_TYPE: &str = "microsoft.graph.authenticationEvent.tokenIssuanceStart";

/// The parts of the request Muster reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Call {
    #[serde(rename = "type")]
    kind: String,
    data: Data,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    tenant_id: String,
    authentication_context: Context,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Context {
    correlation_id: Option<String>,
    client_service_principal: Option<Principal>,
    user: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Principal {
    app_id: Option<String>,
}

/// What a checked call asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct EntraSignIn {
    /// `entra:<tid>:<oid>`.
    pub subject: String,
    /// Whether the application signed in to is one Muster provisions for.
    pub provisions: bool,
    pub person: Person,
    pub correlation_id: Option<String>,
}

/// Reads and checks a call's body (no I/O): the event type, the tenant, the user's claims.
pub fn parse(
    body: &[u8],
    settings: &EntraSettings,
    domains: &[String],
) -> Result<EntraSignIn, Refusal> {
    let call: Call = serde_json::from_slice(body).map_err(|e| {
        Refusal::bad_request(format!(
            "the body is not an OnTokenIssuanceStart call: {e} (expected data.tenantId and data.authenticationContext.user)"
        ))
    })?;
    if call.kind != EVENT_TYPE {
        return Err(Refusal::bad_request(format!(
            "the event type is {:?}, expected {EVENT_TYPE}",
            call.kind.chars().take(100).collect::<String>()
        )));
    }
    if !call
        .data
        .tenant_id
        .eq_ignore_ascii_case(&settings.tenant_id)
    {
        return Err(Refusal::unauthorized(
            "the call is for another tenant (data.tenantId)",
        ));
    }
    let context = call.data.authentication_context;
    let oid = match context.user.get("id") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
        _ => {
            return Err(Refusal::bad_request(
                "data.authenticationContext.user has no id",
            ))
        }
    };
    let subject = entra_key(&settings.tenant_id.to_ascii_lowercase(), &oid);
    let person = person(&settings.claims, &subject, &context.user, domains)
        .map_err(|r| r.by(subject.clone()))?;
    let app = context.client_service_principal.and_then(|p| p.app_id);
    let provisions = settings.apps.is_empty()
        || app
            .as_deref()
            .is_some_and(|a| settings.apps.iter().any(|x| x.eq_ignore_ascii_case(a)));
    Ok(EntraSignIn {
        subject,
        provisions,
        person,
        correlation_id: context.correlation_id,
    })
}

fn person(
    claims: &ClaimMap,
    subject: &str,
    user: &Map<String, Value>,
    domains: &[String],
) -> Result<Person, Refusal> {
    claims
        .person(subject, user, domains)
        .map_err(|e| Refusal::bad_request(e.to_string()))
}

/// The answer: `provideClaimsForToken` with `claims`.
pub fn answer(claims: &[(String, muster_core::secret::Secret)]) -> Value {
    let claims: Map<String, Value> = claims
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.expose().to_owned())))
        .collect();
    json!({"data": {
        "@odata.type": "microsoft.graph.onTokenIssuanceStartResponseData",
        "actions": [{
            "@odata.type": "microsoft.graph.tokenIssuanceStart.provideClaimsForToken",
            "claims": claims,
        }]
    }})
}

pub async fn hook(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ip = peer.ip();
    if let Some(r) = too_many(&state, ip) {
        return r;
    }
    let Some((jit, settings, verifier)) = state
        .jit
        .as_ref()
        .and_then(|j| Some((j, j.settings.entra.as_ref()?, j.entra_verifier()?)))
    else {
        return error_response(
            StatusCode::NOT_FOUND,
            "the Entra sign-in hook is not configured ([server.jit.entra])",
        );
    };
    match serve(jit, settings, verifier, &headers, body).await {
        Ok(response) => response,
        Err(refusal) => refuse(&state, "entra", ip, refusal).await,
    }
}

async fn serve(
    jit: &Jit,
    settings: &EntraSettings,
    verifier: &super::jwt::Verifier,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let token = bearer(headers).ok_or_else(|| Refusal::unauthorized("no bearer token"))?;
    let verified = verifier.verify(token).await.map_err(|e| {
        let status = if e.is_ours() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::UNAUTHORIZED
        };
        Refusal::new(status, e.to_string())
    })?;
    if let Some(tid) = &verified.tenant {
        if !tid.eq_ignore_ascii_case(&settings.tenant_id) {
            return Err(Refusal::unauthorized(
                "the token is for another tenant (tid)",
            ));
        }
    }
    let body = read_body(body, jit.settings.max_body_bytes).await?;
    let call = parse(&body, settings, &jit.settings.domains)?;
    // A replay is this call again: the same token with the same authentication event. Entra
    // may use one token for several events while it is valid, so the token alone is not.
    let event = call.correlation_id.as_deref().unwrap_or(&call.subject);
    let id = format!("entra:{}:{event}", verified.token_id);
    let until = Instant::now() + lifetime(verified.expires);
    jit.seen
        .take(&id, until, Instant::now())
        .map_err(|e| Refusal::unauthorized(e.to_string()).by(call.subject.clone()))?;
    if !call.provisions {
        tracing::info!(subject = %call.subject, "Entra sign-in to an application Muster does not provision for: answered without claims.");
        return Ok(axum::Json(answer(&[])).into_response());
    }
    let sign_in = SignIn {
        person: call.person,
        via: SignInVia::Entra,
        subject: call.subject.clone(),
    };
    let outcome = jit.provision(sign_in, settings.policy).await;
    tracing::info!(subject = %call.subject, correlation = ?call.correlation_id, outcome = %outcome.describe(), "Entra sign-in answered.");
    if outcome.answers_ok(settings.policy.fail) {
        Ok(axum::Json(answer(&jit.settings.answer_claims)).into_response())
    } else {
        // The retry Entra may make is let through.
        jit.seen.give_back(&id);
        Ok(error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the account could not be prepared: {}", outcome.describe()),
        ))
    }
}

/// How long a token with `exp` (seconds since the epoch) is remembered: until it expires,
/// plus the skew allowed.
fn lifetime(exp: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Duration::from_secs(exp.saturating_sub(now).min(86_400) + super::jwt::LEEWAY_SECONDS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::{FailMode, HookPolicy};

    fn settings(apps: Vec<String>) -> EntraSettings {
        EntraSettings {
            policy: HookPolicy {
                deadline: Duration::from_millis(1500),
                fail: FailMode::Open,
            },
            claims: ClaimMap::defaults(&[
                ("mail", "Contact.Business.Email"),
                ("givenName", "Name.GivenName"),
            ]),
            tenant_id: "T1".into(),
            jwks_url: "http://127.0.0.1:9/keys".into(),
            issuer: "iss".into(),
            audience: vec!["aud".into()],
            authorized_party: crate::config::ENTRA_EVENTS_APP.into(),
            apps,
            jwks_refetch: Duration::from_secs(10),
        }
    }

    fn call(tenant: &str, user: Value) -> Vec<u8> {
        json!({"type": EVENT_TYPE, "source": "/tenants/t1/applications/app",
            "data": {"@odata.type": "microsoft.graph.onTokenIssuanceStartCalloutData", "tenantId": tenant,
              "authenticationContext": {"correlationId": "c1", "protocol": "SAML",
                "clientServicePrincipal": {"appId": "zivver-app", "displayName": "Zivver"},
                "user": user}}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_call_becomes_a_person_keyed_on_tenant_and_object_id() {
        let body = call(
            "t1",
            json!({"id": "oid-1", "mail": "jan@contoso.nl", "givenName": "Jan"}),
        );
        let s = parse(&body, &settings(vec![]), &["contoso.nl".into()]).unwrap();
        assert_eq!(s.subject, "entra:t1:oid-1");
        assert_eq!(s.person.external_id.as_str(), "entra:t1:oid-1");
        assert_eq!(
            s.person.contact.business.email.as_deref(),
            Some("jan@contoso.nl")
        );
        assert!(s.provisions);
        assert_eq!(s.correlation_id.as_deref(), Some("c1"));
        let other = parse(&body, &settings(vec!["another-app".into()]), &[]).unwrap();
        assert!(!other.provisions);
        let listed = parse(&body, &settings(vec!["ZIVVER-APP".into()]), &[]).unwrap();
        assert!(listed.provisions);
    }

    #[test]
    fn bad_calls_are_refused_with_a_reason() {
        let s = settings(vec![]);
        let e = parse(b"{", &s, &[]).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = parse(&call("other", json!({"id": "o"})), &s, &[]).unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        let e = parse(&call("t1", json!({"mail": "a@b"})), &s, &[]).unwrap_err();
        assert!(e.reason.contains("no id"), "{}", e.reason);
        let e = parse(
            &call("t1", json!({"id": "o", "givenName": "a\nb"})),
            &s,
            &[],
        )
        .unwrap_err();
        assert!(e.reason.contains("control character"), "{}", e.reason);
        assert_eq!(e.who.as_deref(), Some("entra:t1:o"));
        let e = parse(
            &call("t1", json!({"id": "o", "mail": "x@evil.example"})),
            &s,
            &["contoso.nl".into()],
        )
        .unwrap_err();
        assert!(e.reason.contains("evil.example"), "{}", e.reason);
        let mut wrong = serde_json::from_slice::<Value>(&call("t1", json!({"id": "o"}))).unwrap();
        wrong["type"] = json!("something.else");
        let e = parse(wrong.to_string().as_bytes(), &s, &[]).unwrap_err();
        assert!(e.reason.contains("event type"), "{}", e.reason);
    }

    #[test]
    fn the_answer_provides_the_configured_claims() {
        let a = answer(&[("DomainKey".into(), muster_core::secret::Secret::new("dk-1"))]);
        assert_eq!(
            a["data"]["actions"][0]["@odata.type"],
            "microsoft.graph.tokenIssuanceStart.provideClaimsForToken"
        );
        assert_eq!(a["data"]["actions"][0]["claims"]["DomainKey"], "dk-1");
        assert_eq!(
            a["data"]["@odata.type"],
            "microsoft.graph.onTokenIssuanceStartResponseData"
        );
    }
}
