//! The HTTP API under `/api/v1`, the health checks, `/metrics` and the OpenAPI document.
//! Every route but `/healthz` and `/readyz` needs a bearer token (`/metrics` too, unless
//! `server.metrics_auth = false`); each handler checks the role it needs.

pub mod admin;
pub mod blocked;
pub mod error;
pub mod extract;
pub mod people;
pub mod reports;
pub mod runs;
pub mod views;

use crate::auth;
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use error::{ApiError, ErrorBody};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use views::Health;

#[derive(OpenApi)]
#[openapi(
    info(title = "Muster API", description = "Runs, plans, blocked actions and their approval, persons and audit of a Muster installation."),
    paths(
        runs::list, runs::one, runs::actions, runs::trigger,
        blocked::list, blocked::of_run, blocked::approve, blocked::reject,
        admin::plan, admin::schedules, admin::list_tokens, admin::create_token, admin::revoke_token,
        people::person, people::search,
        reports::report,
        healthz, readyz, openapi,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route, with authentication, the body limit and JSON errors for unknown routes.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/runs", get(runs::list).post(runs::trigger))
        .route("/api/v1/runs/{id}", get(runs::one))
        .route("/api/v1/runs/{id}/actions", get(runs::actions))
        .route("/api/v1/runs/{id}/blocked", get(blocked::of_run))
        .route("/api/v1/runs/{id}/approve", post(blocked::approve))
        .route("/api/v1/runs/{id}/reject", post(blocked::reject))
        .route("/api/v1/blocked", get(blocked::list))
        .route("/api/v1/targets/{target}/plan", get(admin::plan))
        .route("/api/v1/schedules", get(admin::schedules))
        .route(
            "/api/v1/tokens",
            get(admin::list_tokens).post(admin::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(admin::revoke_token))
        .route("/api/v1/persons/{external_id}", get(people::person))
        .route("/api/v1/audit", get(people::search))
        .route("/api/v1/reports/{kind}/{target}", get(reports::report))
        .route("/api/v1/openapi.json", get(openapi));
    let metrics = Router::new().route("/metrics", get(metrics));
    let metrics = if state.settings.metrics_auth {
        metrics.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
    } else {
        metrics
    };
    let api = api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::authenticate,
    ));
    Router::new()
        .merge(api)
        .merge(metrics)
        .merge(crate::web::router())
        .merge(crate::web::signin::routes())
        .merge(crate::jit::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /api/v1/openapi.json")
}

async fn method_not_allowed() -> Response {
    let body = ErrorBody {
        error: "method_not_allowed".to_owned(),
        message: "this endpoint does not take that method; see /api/v1/openapi.json".to_owned(),
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json"), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "meta", security(()),
    responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok".to_owned(),
        store: None,
        schedules: None,
    })
}

/// Ready for work: the store answers and every schedule is running.
#[utoipa::path(get, path = "/readyz", tag = "meta", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, axum::Json<Health>) {
    let store = match state.store.runs(1).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "Readiness: the store does not answer.");
            false
        }
    };
    let schedules = state.schedules_loaded();
    let ready = store && schedules;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(Health {
            status: if ready { "ok" } else { "unavailable" }.to_owned(),
            store: Some(store),
            schedules: Some(schedules),
        }),
    )
}

/// Prometheus metrics: OpenMetrics text when the scraper asks for it (Prometheus does),
/// otherwise the classic text format.
async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    // Runs never queue (one at a time; others are refused), so the queue is the journal's.
    match state.store.journal_pending().await {
        Ok(pending) => state.metrics.set_actions_pending(pending),
        Err(e) => tracing::warn!(error = %e, "Metrics: the journal could not be read."),
    }
    let text = state
        .metrics
        .render()
        .map_err(|_| ApiError::internal("metrics could not be written"))?;
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    if openmetrics {
        Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response())
    } else {
        let classic = crate::metrics::prometheus_text(&text);
        Ok((
            [(header::CONTENT_TYPE, crate::metrics::CLASSIC_CONTENT_TYPE)],
            classic,
        )
            .into_response())
    }
}
