//! `POST /jit/okta`: Okta's inline hooks `com.okta.saml.tokens.transform` (the SAML
//! assertion, which suits Zivver) and `com.okta.oauth2.tokens.transform` (the ID token).
//! Okta sends the configured secret in a header (compared in constant time), the signing-in
//! user (`data.context.user`) and the assertion's or token's claims; the answer adds the
//! answer claims with patch commands, or, failing closed, carries an `error` object, which
//! makes Okta refuse the sign-in. Each event id is taken once.
//!
//! Okta's one-time verification challenge (`X-Okta-Verification-Challenge`) belongs to event
//! hooks, not inline hooks, so this endpoint has no GET.

use super::{error_response, read_body, refuse, too_many, Jit, Refusal};
use crate::config::OktaSettings;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use muster_core::secret::Secret;
use muster_core::Person;
use muster_engine::jit::{SignIn, SignInVia};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

pub const SAML_EVENT: &str = "com.okta.saml.tokens.transform";
pub const TOKEN_EVENT: &str = "com.okta.oauth2.tokens.transform";
/// How long an event id is remembered (Okta does not send the same event twice).
const EVENT_TTL: Duration = Duration::from_secs(15 * 60);

/// Which hook called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OktaHook {
    Saml,
    Token,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Call {
    event_type: String,
    event_id: Option<String>,
    data: Data,
}

#[derive(Debug, Deserialize)]
struct Data {
    context: Context,
    #[serde(default)]
    assertion: Option<Assertion>,
    #[serde(default)]
    identity: Option<Claims>,
}

#[derive(Debug, Deserialize)]
struct Context {
    user: User,
}

#[derive(Debug, Deserialize)]
struct User {
    id: Option<String>,
    #[serde(default)]
    profile: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct Assertion {
    #[serde(default)]
    claims: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    claims: Map<String, Value>,
}

/// A checked call.
#[derive(Debug, Clone, PartialEq)]
pub struct OktaSignIn {
    pub hook: OktaHook,
    pub event_id: String,
    /// `okta:<user id>`.
    pub subject: String,
    pub person: Person,
}

/// Whether the header the secret travels in holds exactly the secret (constant time).
pub fn secret_matches(headers: &HeaderMap, header: &str, secret: &Secret) -> bool {
    let sent = headers
        .get(header)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    bool::from(sent.ct_eq(secret.expose().as_bytes()))
}

/// Reads and checks a call's body (no I/O).
pub fn parse(
    body: &[u8],
    settings: &OktaSettings,
    domains: &[String],
) -> Result<OktaSignIn, Refusal> {
    let call: Call = serde_json::from_slice(body).map_err(|e| {
        Refusal::bad_request(format!(
            "the body is not an Okta inline hook call: {e} (expected eventType and data.context.user)"
        ))
    })?;
    let hook = match call.event_type.as_str() {
        SAML_EVENT => OktaHook::Saml,
        TOKEN_EVENT => OktaHook::Token,
        other => {
            return Err(Refusal::bad_request(format!(
                "the event type is {:?}: expected {SAML_EVENT} or {TOKEN_EVENT}",
                other.chars().take(100).collect::<String>()
            )))
        }
    };
    let event_id = call
        .event_id
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| Refusal::bad_request("the call has no eventId"))?;
    super::claims::check_text("eventId", &event_id)
        .map_err(|e| Refusal::bad_request(e.to_string()))?;
    let user_id = call
        .data
        .context
        .user
        .id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| Refusal::bad_request("data.context.user has no id"))?;
    let subject = format!("okta:{}", user_id.trim());
    let claims = flatten(
        hook,
        call.data.context.user.profile,
        call.data.assertion,
        call.data.identity,
    );
    let person = settings
        .claims
        .person(&subject, &claims, domains)
        .map_err(|e| Refusal::bad_request(e.to_string()).by(subject.clone()))?;
    Ok(OktaSignIn {
        hook,
        event_id,
        subject,
        person,
    })
}

/// One map of claims: the user's Okta profile, then (where the profile has no such name) the
/// assertion's attributes (their first value) or the ID token's claims.
fn flatten(
    hook: OktaHook,
    profile: Map<String, Value>,
    assertion: Option<Assertion>,
    identity: Option<Claims>,
) -> Map<String, Value> {
    let mut claims = profile;
    let extra: Map<String, Value> = match hook {
        OktaHook::Saml => assertion
            .map(|a| a.claims)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, attribute)| {
                let first = attribute
                    .get("attributeValues")?
                    .get(0)?
                    .get("value")?
                    .clone();
                Some((name, first))
            })
            .collect(),
        OktaHook::Token => identity.map(|i| i.claims).unwrap_or_default(),
    };
    for (name, value) in extra {
        claims.entry(name).or_insert(value);
    }
    claims
}

/// JSON Pointer escaping of one reference token (RFC 6901).
fn pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The answer: the answer claims added to the assertion (SAML attributes of basic name
/// format, string values) or to the ID token.
pub fn answer(hook: OktaHook, claims: &[(String, Secret)]) -> Value {
    if claims.is_empty() {
        return json!({"commands": []});
    }
    let (kind, ops): (&str, Vec<Value>) = match hook {
        OktaHook::Saml => (
            "com.okta.assertion.patch",
            claims
                .iter()
                .map(|(name, value)| {
                    json!({"op": "add", "path": format!("/claims/{}", pointer(name)), "value": {
                        "attributes": {"NameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"},
                        "attributeValues": [{"attributes": {"xsi:type": "xs:string"}, "value": value.expose()}]
                    }})
                })
                .collect(),
        ),
        OktaHook::Token => (
            "com.okta.identity.patch",
            claims
                .iter()
                .map(|(name, value)| {
                    json!({"op": "add", "path": format!("/claims/{}", pointer(name)), "value": value.expose()})
                })
                .collect(),
        ),
    };
    json!({"commands": [{"type": kind, "value": ops}]})
}

/// The failure answer: Okta refuses the sign-in.
pub fn failure(summary: &str) -> Value {
    json!({"error": {"errorSummary": summary}})
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
    let Some((jit, settings)) = state
        .jit
        .as_ref()
        .and_then(|j| Some((j, j.settings.okta.as_ref()?)))
    else {
        return error_response(
            StatusCode::NOT_FOUND,
            "the Okta sign-in hook is not configured ([server.jit.okta])",
        );
    };
    match serve(jit, settings, &headers, body).await {
        Ok(response) => response,
        Err(refusal) => refuse(&state, "okta", ip, refusal).await,
    }
}

async fn serve(
    jit: &Jit,
    settings: &OktaSettings,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    if !secret_matches(headers, &settings.header, &settings.secret) {
        return Err(Refusal::unauthorized(format!(
            "the `{}` header does not hold the hook's secret",
            settings.header
        )));
    }
    let body = read_body(body, jit.settings.max_body_bytes).await?;
    let call = parse(&body, settings, &jit.settings.domains)?;
    let id = format!("okta:{}", call.event_id);
    let now = Instant::now();
    jit.seen
        .take(&id, now + EVENT_TTL, now)
        .map_err(|e| Refusal::unauthorized(e.to_string()).by(call.subject.clone()))?;
    let sign_in = SignIn {
        person: call.person,
        via: SignInVia::Okta,
        subject: call.subject.clone(),
    };
    let outcome = jit.provision(sign_in, settings.policy).await;
    tracing::info!(subject = %call.subject, hook = ?call.hook, outcome = %outcome.describe(), "Okta sign-in answered.");
    if outcome.answers_ok(settings.policy.fail) {
        Ok(axum::Json(answer(call.hook, &jit.settings.answer_claims)).into_response())
    } else {
        jit.seen.give_back(&id);
        Ok(axum::Json(failure(&format!(
            "The account could not be prepared: {}",
            outcome.describe()
        )))
        .into_response())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::{FailMode, HookPolicy};
    use crate::jit::claims::ClaimMap;
    use axum::http::HeaderValue;

    fn settings() -> OktaSettings {
        OktaSettings {
            policy: HookPolicy {
                deadline: Duration::from_millis(1500),
                fail: FailMode::Open,
            },
            claims: ClaimMap::defaults(&[
                ("firstName", "Name.GivenName"),
                ("email", "Contact.Business.Email"),
                ("department", "Accounts.Okta.department"),
            ]),
            header: "authorization".into(),
            secret: Secret::new("a-long-okta-hook-secret"),
        }
    }

    #[test]
    fn the_secret_must_match_exactly() {
        let s = settings();
        let mut h = HeaderMap::new();
        assert!(!secret_matches(&h, &s.header, &s.secret));
        h.insert(
            "authorization",
            HeaderValue::from_static("a-long-okta-hook-secre"),
        );
        assert!(!secret_matches(&h, &s.header, &s.secret));
        h.insert(
            "authorization",
            HeaderValue::from_static("a-long-okta-hook-secret"),
        );
        assert!(secret_matches(&h, &s.header, &s.secret));
    }

    #[test]
    fn saml_and_token_calls_become_persons() {
        let saml = json!({"eventType": SAML_EVENT, "eventId": "e1", "data": {
            "context": {"user": {"id": "00u1", "profile": {"firstName": "Jan", "email": "jan@contoso.nl"}}},
            "assertion": {"subject": {"nameId": "jan@contoso.nl"}, "claims": {
                "department": {"attributes": {}, "attributeValues": [{"attributes": {"xsi:type": "xs:string"}, "value": "ICT"}]}}}}});
        let s = parse(saml.to_string().as_bytes(), &settings(), &[]).unwrap();
        assert_eq!(s.hook, OktaHook::Saml);
        assert_eq!(s.subject, "okta:00u1");
        assert_eq!(s.person.name.given_name.as_deref(), Some("Jan"));
        assert_eq!(s.person.accounts["Okta"]["department"], "ICT");
        let token = json!({"eventType": TOKEN_EVENT, "eventId": "e2", "data": {
            "context": {"user": {"id": "00u2", "profile": {}}},
            "identity": {"claims": {"email": "piet@contoso.nl", "firstName": "Piet"}}}});
        let t = parse(token.to_string().as_bytes(), &settings(), &[]).unwrap();
        assert_eq!(t.hook, OktaHook::Token);
        assert_eq!(
            t.person.contact.business.email.as_deref(),
            Some("piet@contoso.nl")
        );
    }

    #[test]
    fn bad_calls_are_refused() {
        let s = settings();
        let call = |v: Value| parse(v.to_string().as_bytes(), &s, &["contoso.nl".into()]);
        let e = call(json!({"eventType": "com.okta.import.transform", "eventId": "e", "data": {"context": {"user": {"id": "u"}}}})).unwrap_err();
        assert!(e.reason.contains("event type"), "{}", e.reason);
        let e = call(json!({"eventType": SAML_EVENT, "data": {"context": {"user": {"id": "u"}}}}))
            .unwrap_err();
        assert!(e.reason.contains("eventId"), "{}", e.reason);
        let e = call(
            json!({"eventType": SAML_EVENT, "eventId": "e", "data": {"context": {"user": {}}}}),
        )
        .unwrap_err();
        assert!(e.reason.contains("no id"), "{}", e.reason);
        let e = call(json!({"eventType": SAML_EVENT, "eventId": "e", "data": {"context": {"user": {"id": "u", "profile": {"email": "x@evil.example"}}}}})).unwrap_err();
        assert!(e.reason.contains("evil.example"), "{}", e.reason);
        assert_eq!(e.who.as_deref(), Some("okta:u"));
    }

    #[test]
    fn answers_patch_the_assertion_or_the_token() {
        let claims = [("DomainKey".to_owned(), Secret::new("dk"))];
        let saml = answer(OktaHook::Saml, &claims);
        assert_eq!(saml["commands"][0]["type"], "com.okta.assertion.patch");
        let op = &saml["commands"][0]["value"][0];
        assert_eq!(op["op"], "add");
        assert_eq!(op["path"], "/claims/DomainKey");
        assert_eq!(op["value"]["attributeValues"][0]["value"], "dk");
        assert_eq!(
            op["value"]["attributes"]["NameFormat"],
            "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
        );
        let token = answer(OktaHook::Token, &claims);
        assert_eq!(token["commands"][0]["type"], "com.okta.identity.patch");
        assert_eq!(token["commands"][0]["value"][0]["value"], "dk");
        assert_eq!(pointer("a/b~c"), "a~1b~0c");
        assert_eq!(failure("no")["error"]["errorSummary"], "no");
    }
}
