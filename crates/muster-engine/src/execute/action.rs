//! One action against the connector, with the store bookkeeping that goes with it: links,
//! fingerprints of write-only values, and re-correlation of a create whose outcome is unknown.

use crate::fingerprint::fingerprint;
use muster_core::connector::{Attributes, Connector, ConnectorError, Operation, Outcome};
use muster_core::evaluate::Correlation;
use muster_core::model::{AccountRef, TargetName};
use muster_core::plan::{Action, ActionKind};
use muster_core::report::ActionOutcome;
use muster_core::secret::Secret;
use muster_store::{Fingerprint, JournalState, Link, LinkState, Store};
use std::sync::Arc;

/// Attempts at a create whose outcome stayed unknown; each retry is preceded by a look-up.
const CREATE_ATTEMPTS: usize = 3;

pub struct Shared {
    pub run: String,
    pub target: TargetName,
    pub connector: Arc<dyn Connector>,
    pub store: Arc<dyn Store>,
    pub correlation: Correlation,
    pub key: Secret,
}

pub struct ActionResult {
    pub outcome: ActionOutcome,
    pub detail: Option<String>,
    /// The account the action ended up on (a created or re-correlated account).
    pub account: Option<AccountRef>,
    /// Credentials were refused: nothing more is sent to this target in this run.
    pub stop_target: bool,
    /// The request reached (or tried to reach) the target: the action counts towards its
    /// error ratio for quarantine.
    pub attempted: bool,
    /// It failed on the target's side ([`ConnectorError::is_target_fault`]).
    pub target_fault: bool,
}

impl ActionResult {
    pub fn settled(outcome: ActionOutcome, detail: impl Into<String>) -> Self {
        Self {
            outcome,
            detail: Some(detail.into()),
            account: None,
            stop_target: false,
            attempted: false,
            target_fault: false,
        }
    }

    fn done(account: Option<AccountRef>, detail: Option<String>) -> Self {
        Self {
            outcome: ActionOutcome::Done,
            detail,
            account,
            stop_target: false,
            attempted: true,
            target_fault: false,
        }
    }

    fn failed(error: &ConnectorError) -> Self {
        Self {
            outcome: ActionOutcome::Failed,
            detail: Some(error.to_string()),
            account: None,
            stop_target: error.stops_target(),
            attempted: true,
            target_fault: error.is_target_fault(),
        }
    }

    /// A failure after the target was reached, with a detail of the executor's own.
    fn failed_with(error: &ConnectorError, detail: String) -> Self {
        Self {
            detail: Some(detail),
            ..Self::failed(error)
        }
    }
}

pub async fn run(s: &Shared, action: &Action, account: Option<AccountRef>) -> ActionResult {
    match attempt(s, action, account).await {
        Ok(r) => r,
        Err(store) => ActionResult::settled(ActionOutcome::Failed, format!("state store: {store}")),
    }
}

async fn attempt(
    s: &Shared,
    action: &Action,
    account: Option<AccountRef>,
) -> Result<ActionResult, muster_store::StoreError> {
    s.store
        .journal_set(&s.run, &s.target, action.id.0, JournalState::Sent, None)
        .await?;
    // Values that are re-sent travel with the changes; the target cannot tell them apart.
    let changes: Attributes = action
        .changes
        .iter()
        .chain(&action.resend)
        .map(|c| {
            (
                c.field.clone(),
                c.after.clone().unwrap_or(serde_json::Value::Null),
            )
        })
        .collect();

    let account = match (action.kind, account) {
        (ActionKind::Create, _) => return create(s, action, changes).await,
        (_, Some(account)) => account,
        (_, None) => {
            return Ok(ActionResult::settled(
                ActionOutcome::Failed,
                "no account to act on",
            ))
        }
    };
    if let Some(unknown) = action.resend.iter().find(|c| c.after.is_none()) {
        return Ok(ActionResult::settled(
            ActionOutcome::Failed,
            format!(
                "{} unknown for this person; a write now would clear it in the target (for Zivver: break SSO)",
                unknown.field
            ),
        ));
    }
    if action.kind == ActionKind::Correlate {
        link(s, action, &account, LinkState::Active).await?;
        return Ok(ActionResult::done(Some(account), None));
    }
    let operation = match write_operation(action, &account, &changes) {
        Ok(op) => op,
        Err(why) => return Ok(ActionResult::settled(ActionOutcome::Failed, why)),
    };

    match s.connector.execute(&operation).await {
        Ok(outcome) => {
            remember_written(s, &account, &changes).await?;
            match action.kind {
                ActionKind::Delete => link(s, action, &account, LinkState::Deleted).await?,
                ActionKind::Enable => link(s, action, &account, LinkState::Active).await?,
                _ => {}
            }
            let detail = (outcome == Outcome::AlreadyAbsent)
                .then(|| "already absent in the target".to_owned());
            Ok(ActionResult::done(Some(account), detail))
        }
        Err(e) => {
            if matches!(e, ConnectorError::Uncertain { .. }) {
                forget_written(s, &account, &changes).await?;
            }
            let mut r = ActionResult::failed(&e);
            if matches!(e, ConnectorError::AccountGone { .. }) {
                r.detail = Some(format!("account gone: {e}"));
            }
            Ok(r)
        }
    }
}

/// The connector operation for an action on an existing account.
fn write_operation(
    action: &Action,
    account: &AccountRef,
    changes: &Attributes,
) -> Result<Operation, String> {
    let account = account.clone();
    let changes = changes.clone();
    Ok(match action.kind {
        ActionKind::Update => Operation::Update { account, changes },
        ActionKind::Enable | ActionKind::Disable => Operation::SetEnabled {
            account,
            enabled: action.kind == ActionKind::Enable,
            changes,
        },
        ActionKind::Delete => Operation::Delete { account, changes },
        ActionKind::Grant | ActionKind::Revoke => {
            let Some(group) = action.permission.as_ref().and_then(|p| p.group.clone()) else {
                let name = action
                    .permission
                    .as_ref()
                    .map(|p| p.name.as_str())
                    .unwrap_or_default();
                return Err(format!("the target has no group named `{name}`"));
            };
            if action.kind == ActionKind::Grant {
                Operation::Grant { account, group }
            } else {
                Operation::Revoke { account, group }
            }
        }
        ActionKind::Create | ActionKind::Correlate => {
            return Err(format!(
                "{} is not a write to an existing account",
                action.kind
            ))
        }
    })
}

/// Create, and when the outcome is unknown or collided, look the account up before anything
/// else: one match is the account (linked), none means retry (unknown outcome) or fail
/// (conflict), several means the person is disputed.
async fn create(
    s: &Shared,
    action: &Action,
    attributes: Attributes,
) -> Result<ActionResult, muster_store::StoreError> {
    let operation = Operation::Create {
        attributes: attributes.clone(),
        enabled: action.enabled.unwrap_or(true),
    };
    let lookup_value = attributes
        .get(&s.correlation.account_field)
        .and_then(|v| v.as_str().map(str::to_owned));
    for attempt in 1..=CREATE_ATTEMPTS {
        let error = match s.connector.execute(&operation).await {
            Ok(Outcome::Created(account)) => {
                link(s, action, &account.reference, LinkState::Active).await?;
                remember_written(s, &account.reference, &attributes).await?;
                return Ok(ActionResult::done(Some(account.reference), None));
            }
            Ok(other) => {
                let mut r = ActionResult::settled(
                    ActionOutcome::Failed,
                    format!("create answered {other:?} without an account"),
                );
                r.attempted = true;
                return Ok(r);
            }
            Err(e) => e,
        };
        let conflict = matches!(error, ConnectorError::Conflict { .. });
        if !(conflict || matches!(error, ConnectorError::Uncertain { .. })) {
            return Ok(ActionResult::failed(&error));
        }
        let Some(value) = lookup_value.as_deref() else {
            return Ok(ActionResult::failed_with(
                &error,
                format!(
                    "{error}; cannot re-correlate: the create carries no {}",
                    s.correlation.account_field
                ),
            ));
        };
        let found = match s
            .connector
            .lookup(&s.correlation.account_field, value)
            .await
        {
            Ok(found) => found,
            Err(e) => {
                return Ok(ActionResult::failed_with(
                    &e,
                    format!("{error}; re-correlation failed: {e}"),
                ))
            }
        };
        match found.as_slice() {
            [account] => {
                link(s, action, &account.reference, LinkState::Active).await?;
                // Whether the write-only values were stored is unknown; the next plan resends.
                forget_written(s, &account.reference, &attributes).await?;
                let how = if conflict {
                    "account already existed"
                } else {
                    "create reached the target"
                };
                return Ok(ActionResult::done(
                    Some(account.reference.clone()),
                    Some(format!("{how}; re-correlated after: {error}")),
                ));
            }
            [] if conflict => return Ok(ActionResult::failed(&error)),
            [] => {
                tracing::debug!(target_name = %s.target, attempt, "Create outcome unknown and no account found; retrying.");
            }
            several => {
                let mut r = ActionResult::settled(
                    ActionOutcome::Failed,
                    format!(
                        "{} accounts match {} = {value:?} after an uncertain create; disputed",
                        several.len(),
                        s.correlation.account_field
                    ),
                );
                r.attempted = true;
                return Ok(r);
            }
        }
        if attempt == CREATE_ATTEMPTS {
            return Ok(ActionResult::failed(&error));
        }
    }
    Ok(ActionResult::settled(
        ActionOutcome::Failed,
        "create attempts exhausted",
    ))
}

async fn link(
    s: &Shared,
    action: &Action,
    account: &AccountRef,
    state: LinkState,
) -> Result<(), muster_store::StoreError> {
    s.store
        .upsert_link(&Link {
            target: s.target.clone(),
            person: action.person.clone(),
            account: account.clone(),
            state,
            updated_at: chrono::Utc::now(),
        })
        .await
}

/// After a 2xx on a write that carried write-only values, their fingerprints are stored.
async fn remember_written(
    s: &Shared,
    account: &AccountRef,
    written: &Attributes,
) -> Result<(), muster_store::StoreError> {
    for (field, value) in written {
        if s.connector.capabilities().write_only_fields.contains(field) && !value.is_null() {
            let hmac = fingerprint(&s.key, &s.target, account, field, value);
            s.store
                .set_fingerprint(
                    &s.target,
                    &Fingerprint {
                        account: account.clone(),
                        field: field.clone(),
                        hmac,
                    },
                )
                .await?;
        }
    }
    Ok(())
}

/// After a write whose outcome is unknown, the fingerprint is cleared so the next run resends.
async fn forget_written(
    s: &Shared,
    account: &AccountRef,
    written: &Attributes,
) -> Result<(), muster_store::StoreError> {
    for field in written.keys() {
        if s.connector.capabilities().write_only_fields.contains(field) {
            s.store.clear_fingerprint(&s.target, account, field).await?;
        }
    }
    Ok(())
}
