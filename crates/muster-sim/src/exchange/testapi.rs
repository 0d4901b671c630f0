//! The test API under `/_sim` (no auth, no faults, not counted): the shared routes of
//! [`crate::control`] (state, counters, reset, switches) and the tenant's changes between runs:
//!
//! | route | body |
//! |---|---|
//! | `PUT /_sim/tenant` | a whole [`TenantSeed`] |
//! | `POST /_sim/mailboxes` | a [`SeedMailbox`](super::SeedMailbox) |
//! | `PATCH /_sim/mailboxes/{identity}` | a [`MailboxChange`]: disable, rename, primary address, add/remove an address |
//! | `DELETE /_sim/mailboxes/{identity}` | — |
//! | `POST /_sim/permissions` | a [`SeedPermission`](super::SeedPermission) (grant) |
//! | `POST /_sim/permissions/revoke` | `{"Mailbox": …, "User": …}` |
//! | `POST /_sim/groups` | a [`SeedGroup`](super::SeedGroup) |
//! | `PUT /_sim/groups/{identity}/members` | `["member", …]` |

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::state::ExchangeState;
use super::tenant::{MailboxChange, SeedGroup, SeedMailbox, SeedPermission, TenantSeed};
use super::ExchangeSwitches;
use crate::control::{self, bad_request, RequestCounter, Simulated};

/// Routes of the test API.
pub fn routes() -> Router<ExchangeState> {
    control::routes::<ExchangeState>()
        .route("/_sim/tenant", put(put_tenant))
        .route("/_sim/mailboxes", post(add_mailbox))
        .route(
            "/_sim/mailboxes/{identity}",
            patch(change_mailbox).delete(remove_mailbox),
        )
        .route("/_sim/permissions", post(grant))
        .route("/_sim/permissions/revoke", post(revoke))
        .route("/_sim/groups", post(add_group))
        .route("/_sim/groups/{identity}/members", put(set_members))
}

fn done(r: Result<(), String>) -> Response {
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => bad_request(e),
    }
}

async fn put_tenant(State(s): State<ExchangeState>, Json(seed): Json<TenantSeed>) -> Response {
    s.set_tenant(seed);
    StatusCode::NO_CONTENT.into_response()
}

async fn add_mailbox(State(s): State<ExchangeState>, Json(m): Json<SeedMailbox>) -> Response {
    done(s.tenant_mut().add_mailbox(m))
}

async fn change_mailbox(
    State(s): State<ExchangeState>,
    Path(identity): Path<String>,
    Json(change): Json<MailboxChange>,
) -> Response {
    done(s.tenant_mut().change_mailbox(&identity, &change))
}

async fn remove_mailbox(State(s): State<ExchangeState>, Path(identity): Path<String>) -> Response {
    done(s.tenant_mut().remove_mailbox(&identity))
}

async fn grant(State(s): State<ExchangeState>, Json(p): Json<SeedPermission>) -> Response {
    done(s.tenant_mut().grant(p))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Revoke {
    mailbox: String,
    user: String,
}

async fn revoke(State(s): State<ExchangeState>, Json(r): Json<Revoke>) -> Response {
    let n = s.tenant_mut().revoke(&r.mailbox, &r.user);
    Json(serde_json::json!({ "revoked": n })).into_response()
}

async fn add_group(State(s): State<ExchangeState>, Json(g): Json<SeedGroup>) -> Response {
    done(s.tenant_mut().add_group(g))
}

async fn set_members(
    State(s): State<ExchangeState>,
    Path(identity): Path<String>,
    Json(members): Json<Vec<String>>,
) -> Response {
    done(s.tenant_mut().set_members(&identity, members))
}

impl Simulated for ExchangeState {
    const NAME: &'static str = "Exchange Online";
    type Switches = ExchangeSwitches;

    fn counter(&self) -> &RequestCounter {
        ExchangeState::counter(self)
    }

    fn current_switches(&self) -> ExchangeSwitches {
        self.switches()
    }

    fn replace_switches(&self, switches: ExchangeSwitches) -> Result<(), String> {
        if switches.page_size == 0 {
            return Err("page_size must be at least 1".into());
        }
        self.set_switches(switches);
        Ok(())
    }

    fn reset_all(&self) {
        self.reset();
    }

    fn state_dump(&self) -> Value {
        self.dump()
    }
}
