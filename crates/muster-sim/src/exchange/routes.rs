//! HTTP: the router, counting, bearer auth per audience, the token endpoints, the Exchange
//! admin API calls of exchange-online.md §2 (one dispatcher, so `$batch` runs the same code)
//! and Graph's group members. Layers, outermost first: count, auth, shared fault injection.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};

use super::assertion::ASSERTION_TYPE;
use super::state::{Audience, ExchangeState};
use super::tenant::project;
use super::{
    testapi, BadPageAnswer, EXCHANGE_PATH, EXCHANGE_RESOURCE, GRAPH_PATH, GRAPH_RESOURCE, MSI_PATH,
};
use crate::faults::{self, FaultInjector, FaultSource, Faults};

/// The most requests one `$batch` may hold.
pub const MAX_BATCH: usize = 10;

/// An error in the Exchange admin API's shape.
#[derive(Debug, Clone)]
pub struct ExoError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ExoError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    fn not_found(identity: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object '{identity}' couldn't be found on 'NAMPR01A001.PROD.OUTLOOK.COM'."),
        )
    }

    fn body(&self) -> Value {
        json!({"error": {
            "code": self.code,
            "message": "An error has occurred.",
            "details": [{"code": self.code, "message": self.message}],
            "innererror": {"internalException": {"message": self.message}},
        }})
    }
}

impl IntoResponse for ExoError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// One answer of the dispatcher: a JSON body, or (the bad page) garbage or a late answer.
struct Reply {
    status: StatusCode,
    body: Value,
    garbage: bool,
    delay_ms: u64,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            garbage: false,
            delay_ms: 0,
        }
    }
}

/// The whole application router for `state`.
pub fn router(state: ExchangeState) -> Router {
    let exchange = Router::new()
        .route("/{tenant}/{*rest}", any(exchange_call))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject::<ExchangeState>,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), auth_exchange));
    let graph = Router::new()
        .route("/groups/{id}/{relation}", get(graph_members))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject::<ExchangeState>,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), auth_graph));
    let tokens = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route(MSI_PATH, get(managed_identity))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject::<ExchangeState>,
        ));
    let api = Router::new()
        .nest(EXCHANGE_PATH, exchange)
        .nest(GRAPH_PATH, graph)
        .merge(tokens)
        .fallback(|| async { ExoError::new(StatusCode::NOT_FOUND, "NotFound", "Not Found") })
        .layer(middleware::from_fn_with_state(state.clone(), count));
    api.merge(testapi::routes()).with_state(state)
}

impl FaultSource for ExchangeState {
    const API_PATH: &'static str = "";

    fn faults(&self) -> Faults {
        self.switches().faults
    }

    fn injector(&self) -> &FaultInjector {
        ExchangeState::injector(self)
    }

    fn render_error(&self, _faults: &Faults, status: StatusCode, detail: &str) -> Response {
        let code = if status == StatusCode::TOO_MANY_REQUESTS {
            "TooManyRequests"
        } else {
            "ServerError"
        };
        ExoError::new(status, code, detail).into_response()
    }
}

/// What a request counts as: `"GET /Mailbox"`, `"GET /MailboxPermission"`, `"GET /Recipient"`,
/// `"POST /InvokeCommand"`, `"POST /$batch"`, `"POST /token"`, `"GET /msi/token"`,
/// `"GET /groups/members"`.
pub(super) fn count_key(method: &Method, path: &str) -> String {
    let what = if let Some(rest) = path.strip_prefix(EXCHANGE_PATH) {
        let call = rest
            .trim_start_matches('/')
            .split_once('/')
            .map_or("", |(_, c)| c);
        exchange_key(call)
    } else if let Some(rest) = path.strip_prefix(GRAPH_PATH) {
        let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        match parts.as_slice() {
            [g, _, rel] => format!("/{g}/{rel}"),
            _ => rest.to_owned(),
        }
    } else if path.ends_with("/oauth2/v2.0/token") {
        "/token".to_owned()
    } else {
        path.to_owned()
    };
    format!("{method} {what}")
}

fn exchange_key(call: &str) -> String {
    let call = call.split('?').next().unwrap_or(call);
    if call.ends_with("/MailboxPermission") {
        "/MailboxPermission".into()
    } else if call.starts_with("Recipient") {
        "/Recipient".into()
    } else if call.starts_with("Mailbox") {
        "/Mailbox".into()
    } else {
        format!("/{call}")
    }
}

async fn count(State(state): State<ExchangeState>, req: Request, next: Next) -> Response {
    let key = count_key(req.method(), req.uri().path());
    tracing::debug!(request = %key, "Exchange simulator request.");
    state.counter().add(key);
    next.run(req).await
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

fn unauthorized() -> Response {
    let mut resp = ExoError::new(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        "Access token is missing, expired or issued for another resource.",
    )
    .into_response();
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

async fn auth_exchange(State(state): State<ExchangeState>, req: Request, next: Next) -> Response {
    match bearer(req.headers()) {
        Some(t) if state.token_valid(t, Audience::Exchange) => next.run(req).await,
        _ => unauthorized(),
    }
}

async fn auth_graph(State(state): State<ExchangeState>, req: Request, next: Next) -> Response {
    match bearer(req.headers()) {
        Some(t) if state.token_valid(t, Audience::Graph) => next.run(req).await,
        _ => unauthorized(),
    }
}

// ---- tokens ----

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description, "error_codes": []})),
    )
        .into_response()
}

fn audience_of(scope_or_resource: &str) -> Option<Audience> {
    let s = scope_or_resource
        .trim()
        .trim_end_matches(".default")
        .trim_end_matches('/');
    if s.eq_ignore_ascii_case(EXCHANGE_RESOURCE) {
        Some(Audience::Exchange)
    } else if s.eq_ignore_ascii_case(GRAPH_RESOURCE) {
        Some(Audience::Graph)
    } else {
        None
    }
}

/// `POST /{tenant}/oauth2/v2.0/token`: client credentials with a secret or a certificate
/// (a `client_assertion`).
async fn token(
    State(state): State<ExchangeState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let cfg = state.cfg();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if !state.is_tenant(&tenant) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("AADSTS90002: Tenant '{tenant}' not found."),
        );
    }
    if field("grant_type") != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    if field("client_id") != cfg.client_id {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            &format!(
                "AADSTS700016: Application with identifier '{}' was not found in the directory.",
                field("client_id")
            ),
        );
    }
    if form.contains_key("client_assertion") {
        if field("client_assertion_type") != ASSERTION_TYPE {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("AADSTS50027: JWT token is invalid or malformed (client_assertion_type must be '{ASSERTION_TYPE}')."),
            );
        }
        // The audience is this endpoint: the host the request came to, the tenant by name or id.
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let audience_ok = |aud: &str| {
            aud.strip_prefix("http://")
                .and_then(|a| a.strip_prefix(host))
                .and_then(|a| a.strip_prefix('/'))
                .and_then(|a| a.strip_suffix("/oauth2/v2.0/token"))
                .is_some_and(|t| !host.is_empty() && state.is_tenant(t))
        };
        if let Err(r) = state.check_assertion(field("client_assertion"), &audience_ok) {
            let status = if r.error == "invalid_client" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            };
            return oauth_error(status, r.error, &r.description);
        }
    } else if field("client_secret") != cfg.client_secret {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        );
    }
    let Some(audience) = audience_of(field("scope")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!(
                "AADSTS70011: The provided value for the input parameter 'scope' is not valid: '{}'.",
                field("scope")
            ),
        );
    };
    let (token, lifetime) = state.issue(audience);
    Json(json!({
        "token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
        "access_token": token,
    }))
    .into_response()
}

/// `GET /msi/token?api-version=2019-08-01&resource=…` with `X-IDENTITY-HEADER`.
async fn managed_identity(State(state): State<ExchangeState>, req: Request) -> Response {
    let header_ok = req
        .headers()
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == state.cfg().identity_header);
    if !header_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "X-IDENTITY-HEADER is missing or wrong.",
        );
    }
    let query = query_of(req.uri());
    let resource = query.get("resource").cloned().unwrap_or_default();
    let Some(audience) = audience_of(&resource) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            &format!("Unknown resource '{resource}'."),
        );
    };
    let (token, lifetime) = state.issue(audience);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Json(json!({
        "access_token": token, "expires_on": (now + lifetime).to_string(),
        "resource": resource, "token_type": "Bearer",
    }))
    .into_response()
}

// ---- Exchange admin API ----

/// Percent-decodes `s` (`+` stays a plus: paths and our queries never use it for a space).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query of `uri` as decoded pairs (the last one wins).
fn query_of(uri: &Uri) -> BTreeMap<String, String> {
    parse_query(uri.query().unwrap_or(""))
}

fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn list(q: &BTreeMap<String, String>, key: &str) -> Vec<String> {
    q.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// What a call needs besides its path.
struct Call<'a> {
    host: &'a str,
    tenant: &'a str,
    method: &'a Method,
    /// The path after `/adminapi/beta/{tenant}/`, decoded.
    call: String,
    query: BTreeMap<String, String>,
    headers: &'a HeaderMap,
    body: Option<Value>,
}

async fn exchange_call(
    State(state): State<ExchangeState>,
    Path((tenant, rest)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.is_tenant(&tenant) {
        return ExoError::not_found(&tenant).into_response();
    }
    let body = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => return ExoError::bad(format!("Invalid JSON: {e}")).into_response(),
        }
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let call = Call {
        host: &host,
        tenant: &tenant,
        method: &method,
        call: rest,
        query: query_of(&uri),
        headers: &headers,
        body,
    };
    match dispatch(&state, &call) {
        Err(e) => e.into_response(),
        Ok(reply) => {
            if reply.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(reply.delay_ms)).await;
            }
            if reply.garbage {
                return (
                    reply.status,
                    [(header::CONTENT_TYPE, "application/json")],
                    "<html><body>Service temporarily garbled",
                )
                    .into_response();
            }
            (reply.status, Json(reply.body)).into_response()
        }
    }
}

fn dispatch(state: &ExchangeState, c: &Call<'_>) -> Result<Reply, ExoError> {
    let call = c.call.as_str();
    let get = *c.method == Method::GET;
    let post = *c.method == Method::POST;
    if get && call == "Mailbox" {
        return list_mailboxes(state, c);
    }
    if get && call.starts_with("Mailbox(") && call.ends_with("/MailboxPermission") {
        let inner = quoted(&call["Mailbox".len()..call.len() - "/MailboxPermission".len()])?;
        let encoded = c
            .query
            .get("isEncoded")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let identity = if encoded { decode_b64(&inner)? } else { inner };
        return permissions(state, &identity);
    }
    if get && call.starts_with("Recipient(") {
        let identity = quoted(&call["Recipient".len()..])?;
        return recipient(state, &identity);
    }
    if post && call == "InvokeCommand" {
        return invoke(state, c);
    }
    if post && call == "$batch" {
        return batch(state, c);
    }
    Err(ExoError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("No route for {} {call}", c.method),
    ))
}

/// `('text')` → `text` (a doubled quote is one quote).
fn quoted(part: &str) -> Result<String, ExoError> {
    part.strip_prefix("('")
        .and_then(|p| p.strip_suffix("')"))
        .map(|p| p.replace("''", "'"))
        .ok_or_else(|| ExoError::bad(format!("expected ('identity'), found {part}")))
}

fn decode_b64(text: &str) -> Result<String, ExoError> {
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ];
    engines
        .iter()
        .find_map(|e| e.decode(text.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ExoError::bad(format!("'{text}' is not base64 (isEncoded=true)")))
}

/// The page size: the switch, lowered by `Prefer: odata.maxpagesize=N` or `$top`.
fn page_size(state: &ExchangeState, headers: &HeaderMap, top: Option<&String>) -> usize {
    let mut size = state.switches().page_size.max(1);
    let prefer = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .filter_map(|n| n.trim().parse::<usize>().ok())
        .next();
    for n in prefer.into_iter().chain(top.and_then(|t| t.parse().ok())) {
        size = size.min(n.max(1));
    }
    size
}

fn skip_of(q: &BTreeMap<String, String>) -> Result<usize, ExoError> {
    match q.get("$skiptoken") {
        None => Ok(0),
        Some(t) => t
            .parse()
            .map_err(|_| ExoError::bad(format!("invalid $skiptoken '{t}'"))),
    }
}

/// `{"value": page, "@odata.nextLink": …}` for `items[skip..]`; the link repeats the query
/// with the next `$skiptoken`.
fn paged(
    items: Vec<Value>,
    skip: usize,
    size: usize,
    next_base: &str,
    q: &BTreeMap<String, String>,
) -> Value {
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(skip).take(size).collect();
    let mut body = json!({ "value": page });
    if skip + size < total {
        let mut q = q.clone();
        q.insert("$skiptoken".into(), (skip + size).to_string());
        let query: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        body["@odata.nextLink"] = Value::String(format!("{next_base}?{}", query.join("&")));
    }
    body
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'$' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn list_mailboxes(state: &ExchangeState, c: &Call<'_>) -> Result<Reply, ExoError> {
    let types = list(&c.query, "RecipientTypeDetails");
    let select = list(&c.query, "$select");
    let size = page_size(state, c.headers, c.query.get("$top"));
    let skip = skip_of(&c.query)?;
    let sw = state.switches();
    let page_no = u32::try_from(skip / size + 1).unwrap_or(u32::MAX);
    let mut delay_ms = 0;
    if sw.bad_page != 0 && sw.bad_page == page_no {
        match sw.bad_page_answer {
            BadPageAnswer::Error => {
                return Err(ExoError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    format!("simulated failure of page {page_no}"),
                ))
            }
            BadPageAnswer::Garbage => {
                return Ok(Reply {
                    garbage: true,
                    ..Reply::ok(Value::Null)
                })
            }
            BadPageAnswer::Hang => delay_ms = sw.bad_page_hang_ms,
        }
    }
    let items = {
        let tenant = state.tenant();
        tenant
            .mailboxes(&types)
            .into_iter()
            .map(|m| project(m.render(), &select))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ExoError::bad)?
    };
    let base = format!("http://{}{EXCHANGE_PATH}/{}/Mailbox", c.host, c.tenant);
    Ok(Reply {
        delay_ms,
        ..Reply::ok(paged(items, skip, size, &base, &c.query))
    })
}

fn permissions(state: &ExchangeState, identity: &str) -> Result<Reply, ExoError> {
    let tenant = state.tenant();
    let mailbox = tenant
        .mailbox(identity)
        .ok_or_else(|| ExoError::not_found(identity))?;
    Ok(Reply::ok(json!({ "value": tenant.permissions(mailbox) })))
}

fn recipient(state: &ExchangeState, identity: &str) -> Result<Reply, ExoError> {
    let tenant = state.tenant();
    match tenant.recipients(identity).as_slice() {
        [] => Err(ExoError::not_found(identity)),
        [one] => Ok(Reply::ok(one.render())),
        _ => Err(ExoError::bad(format!("|Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException|The operation couldn't be performed because '{identity}' matches multiple entries."))),
    }
}

fn invoke(state: &ExchangeState, c: &Call<'_>) -> Result<Reply, ExoError> {
    let json_format = c
        .headers
        .get("x-responseformat")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("json"));
    if !json_format {
        return Err(ExoError::bad(
            "this simulator answers InvokeCommand only with X-ResponseFormat: json (the service would answer CliXML)",
        ));
    }
    let input = c
        .body
        .as_ref()
        .and_then(|b| b.get("CmdletInput"))
        .ok_or_else(|| {
            ExoError::bad("expected {\"CmdletInput\": {\"CmdletName\", \"Parameters\"}}")
        })?;
    let name = input["CmdletName"].as_str().unwrap_or("");
    let params = &input["Parameters"];
    let identity = params["Identity"].as_str();
    let size = page_size(state, c.headers, None);
    let skip = skip_of(&c.query)?;
    let base = format!(
        "http://{}{EXCHANGE_PATH}/{}/InvokeCommand",
        c.host, c.tenant
    );
    let tenant = state.tenant();
    let items = match (name, identity) {
        ("Get-DistributionGroupMember", Some(id)) => {
            let group = tenant.group(id).ok_or_else(|| ExoError::not_found(id))?;
            tenant.members(group)
        }
        ("Get-DistributionGroupMember", None) => {
            return Err(ExoError::bad("Get-DistributionGroupMember needs -Identity"))
        }
        ("Get-Mailbox", Some(id)) => {
            vec![tenant.mailbox(id).ok_or_else(|| ExoError::not_found(id))?.render()]
        }
        ("Get-Mailbox", None) => {
            let types: Vec<String> = params["RecipientTypeDetails"]
                .as_str()
                .map(|t| t.split(',').map(|s| s.trim().to_owned()).collect())
                .or_else(|| {
                    params["RecipientTypeDetails"].as_array().map(|a| {
                        a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
                    })
                })
                .unwrap_or_default();
            tenant.mailboxes(&types).into_iter().map(|m| m.render()).collect()
        }
        (other, _) => {
            return Err(ExoError::bad(format!(
                "The term '{other}' is not recognized as a name of a cmdlet this simulator serves (Get-DistributionGroupMember, Get-Mailbox)."
            )))
        }
    };
    Ok(Reply::ok(paged(items, skip, size, &base, &c.query)))
}

fn batch(state: &ExchangeState, c: &Call<'_>) -> Result<Reply, ExoError> {
    let requests = c
        .body
        .as_ref()
        .and_then(|b| b.get("requests"))
        .and_then(Value::as_array)
        .ok_or_else(|| ExoError::bad("expected {\"requests\": [...]}"))?;
    if requests.len() > MAX_BATCH {
        return Err(ExoError::bad(format!(
            "A batch holds at most {MAX_BATCH} requests; this one has {}.",
            requests.len()
        )));
    }
    let prefix = format!("{EXCHANGE_PATH}/{}/", c.tenant);
    let mut responses = Vec::new();
    for r in requests {
        let id = r["id"].clone();
        let method = match r["method"]
            .as_str()
            .unwrap_or("GET")
            .to_ascii_uppercase()
            .as_str()
        {
            "POST" => Method::POST,
            _ => Method::GET,
        };
        let url = r["url"].as_str().unwrap_or("");
        let url = url
            .find(&prefix)
            .map_or(url, |at| &url[at + prefix.len()..]);
        let (path, q) = url.split_once('?').unwrap_or((url, ""));
        let mut headers = c.headers.clone();
        if let Some(h) = r["headers"].as_object() {
            for (k, v) in h {
                if let (Ok(name), Some(Ok(value))) = (
                    header::HeaderName::from_bytes(k.as_bytes()),
                    v.as_str().map(HeaderValue::from_str),
                ) {
                    headers.insert(name, value);
                }
            }
        }
        let call = Call {
            host: c.host,
            tenant: c.tenant,
            method: &method,
            call: percent_decode(path),
            query: parse_query(q),
            headers: &headers,
            body: r.get("body").cloned().filter(|b| !b.is_null()),
        };
        state
            .counter()
            .add(format!("{method} {} (batched)", exchange_key(&call.call)));
        let (status, body) = match dispatch(state, &call) {
            Ok(reply) => (reply.status, reply.body),
            Err(e) => (e.status, e.body()),
        };
        responses.push(json!({
            "id": id, "status": status.as_u16(),
            "headers": {"Content-Type": "application/json"}, "body": body,
        }));
    }
    Ok(Reply::ok(json!({ "responses": responses })))
}

// ---- Graph ----

async fn graph_members(
    State(state): State<ExchangeState>,
    Path((id, relation)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let transitive = match relation.as_str() {
        "members" => false,
        "transitiveMembers" => true,
        other => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Unsupported segment '{other}'."),
            )
        }
    };
    let q = query_of(&uri);
    let Some(members) = state.tenant().graph_members(&id, transitive) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        );
    };
    let select = list(&q, "$select");
    let members: Vec<Value> = members
        .into_iter()
        .map(|m| {
            if select.is_empty() {
                return m;
            }
            let mut out = json!({"@odata.type": m["@odata.type"]});
            for s in &select {
                out[s.as_str()] = m.get(s.as_str()).cloned().unwrap_or(Value::Null);
            }
            out
        })
        .collect();
    let skip = match skip_of(&q) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let size = page_size(&state, &headers, q.get("$top"));
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}{GRAPH_PATH}/groups/{id}/{relation}");
    Json(paged(members, skip, size, &base, &q)).into_response()
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_count_by_call() {
        let k = |m: Method, p: &str| count_key(&m, p);
        assert_eq!(k(Method::GET, "/adminapi/beta/t/Mailbox"), "GET /Mailbox");
        assert_eq!(
            k(
                Method::GET,
                "/adminapi/beta/t/Mailbox('amFu')/MailboxPermission"
            ),
            "GET /MailboxPermission"
        );
        assert_eq!(
            k(Method::GET, "/adminapi/beta/t/Recipient('x')"),
            "GET /Recipient"
        );
        assert_eq!(k(Method::POST, "/adminapi/beta/t/$batch"), "POST /$batch");
        assert_eq!(k(Method::POST, "/t/oauth2/v2.0/token"), "POST /token");
        assert_eq!(
            k(Method::GET, "/v1.0/groups/g/members"),
            "GET /groups/members"
        );
    }

    #[test]
    fn decodes_quoted_and_encoded_identities() {
        assert_eq!(quoted("('o''brien')").unwrap(), "o'brien");
        assert!(quoted("(x)").is_err());
        assert_eq!(
            decode_b64("amFuQGNvbnRvc28ubmw=").unwrap(),
            "jan@contoso.nl"
        );
        assert_eq!(percent_decode("a%2Fb%3D"), "a/b=");
        assert_eq!(parse_query("$select=A%2CB&x=1")["$select"], "A,B");
    }
}
