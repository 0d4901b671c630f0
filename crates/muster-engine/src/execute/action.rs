//! One action against the connector, with the store bookkeeping that goes with it: links,
//! fingerprints of write-only values, and re-correlation of a create whose outcome is unknown.

use crate::fingerprint::fingerprint;
use muster_core::connector::{
    Attributes, Connector, ConnectorError, DeleteMeaning, Operation, Outcome,
};
use muster_core::evaluate::Correlation;
use muster_core::model::{AccountRef, GroupRef, TargetName};
use muster_core::plan::{Action, ActionKind};
use muster_core::report::ActionOutcome;
use muster_core::secret::Secret;
use muster_store::{
    Fingerprint, GrantMade, GrantState, JournalState, Link, LinkState, RunId, Store,
};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tokio::sync::{Mutex, Semaphore};

/// Attempts at a create whose outcome stayed unknown; each retry is preceded by a look-up.
const CREATE_ATTEMPTS: usize = 3;

pub struct Shared {
    pub run: RunId,
    pub target: TargetName,
    pub connector: Arc<dyn Connector>,
    pub store: Arc<dyn Store>,
    pub correlation: Correlation,
    pub key: Secret,
    /// Groups made sure of in this run (by lower-case name), so that many grants to one new
    /// group create it once. Held across the request: creating groups is rare and must not race.
    pub ensured_groups: Mutex<HashMap<String, GroupRef>>,
    /// Set where sign-ins create accounts too (see `ExecContext::person_locks`).
    pub sign_ins: Option<SignIns>,
    /// The target's places: one per request it may have in flight (`max_concurrency`),
    /// taken once the action's `sent` marker is durable.
    pub places: Arc<Semaphore>,
    /// Why the target was stopped (quarantine): an action that gets a place after that ends
    /// skipped instead of sending.
    pub stopped: OnceLock<String>,
}

/// The sign-ins a scheduled create must not race: their per-person locks, and when this run
/// started (a link made since then was made by a sign-in, after the plan's read).
pub struct SignIns {
    pub locks: Arc<crate::jit::locks::PersonLocks>,
    pub since: chrono::DateTime<chrono::Utc>,
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

    /// Adds a note to the detail (kept after the target's own text).
    pub fn noted(mut self, note: String) -> Self {
        self.detail = Some(match self.detail.take() {
            Some(detail) => format!("{detail}; {note}"),
            None => note,
        });
        self
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
    let result = match attempt(s, action, account.clone()).await {
        Ok(r) => r,
        Err(store) => ActionResult::settled(ActionOutcome::Failed, format!("state store: {store}")),
    };
    if let Err(e) = remember_refused(s, action, account.as_ref(), &result).await {
        tracing::warn!(target_name = %s.target, person = %action.person, error = %e, "A refused value could not be remembered; it is sent again next run.");
    }
    result
}

/// A write the target refused in a way no retry changes ([`Capabilities::refusals`]): the
/// refused value is remembered (by fingerprint, as `refused:<field>`, under the account or,
/// for a create, the person), so the next plans do not send it again until it changes.
async fn remember_refused(
    s: &Shared,
    action: &Action,
    account: Option<&AccountRef>,
    result: &ActionResult,
) -> Result<(), muster_store::StoreError> {
    if result.outcome != ActionOutcome::Failed || !result.attempted || result.target_fault {
        return Ok(());
    }
    let Some(detail) = result.detail.as_deref() else {
        return Ok(());
    };
    let key = match (action.kind, account) {
        (ActionKind::Create, _) => muster_core::connector::FieldRefusal::create_key(&action.person),
        (_, Some(account)) => account.clone(),
        (_, None) => return Ok(()),
    };
    for refusal in &s.connector.capabilities().refusals {
        if !detail.contains(&refusal.detail_contains) {
            continue;
        }
        let Some(value) = action
            .changes
            .iter()
            .find(|c| c.field == refusal.field)
            .and_then(|c| c.after.as_ref())
        else {
            continue;
        };
        let hmac = fingerprint(&s.key, &s.target, &key, &refusal.field, value);
        s.store
            .set_fingerprint(
                &s.target,
                &Fingerprint {
                    account: key.clone(),
                    field: muster_core::connector::FieldRefusal::memory_field(&refusal.field),
                    hmac,
                },
            )
            .await?;
    }
    Ok(())
}

async fn attempt(
    s: &Shared,
    action: &Action,
    account: Option<AccountRef>,
) -> Result<ActionResult, muster_store::StoreError> {
    s.store
        .journal_set(&s.run, &s.target, action.id.0, JournalState::Sent, None)
        .await?;
    // The marker is durable; the request waits for a place among those in flight.
    super::take_place(&s.places).await;
    if let Some(why) = s.stopped.get() {
        return Ok(ActionResult::settled(
            ActionOutcome::Skipped,
            format!("target stopped: {why}"),
        ));
    }
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
        (ActionKind::Create, _) => return create_beside_sign_ins(s, action, changes).await,
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
    if let Some(unknown) = action.changes.iter().find(|c| c.after.is_none()) {
        if let Some(other) = &unknown.account_of {
            return Ok(ActionResult::settled(
                ActionOutcome::Failed,
                format!(
                    "{}: the account of {other} is not known (its create did not succeed)",
                    unknown.field
                ),
            ));
        }
    }
    let mut created_group = None;
    let mut action = std::borrow::Cow::Borrowed(action);
    if let Some(missing) = group_to_create(s, &action) {
        match ensure_group(s, &missing).await {
            Ok((group, created)) => {
                created_group = created.then(|| missing.clone());
                if let Some(p) = action.to_mut().permission.as_mut() {
                    p.group = Some(group);
                }
            }
            Err(e) => {
                let mut r = ActionResult::failed(&e);
                r.detail = Some(format!("group `{missing}` could not be made sure of: {e}"));
                return Ok(r);
            }
        }
    }
    let action = action.as_ref();
    let operation = match write_operation(action, &account, &changes) {
        Ok(op) => op,
        Err(why) => return Ok(ActionResult::settled(ActionOutcome::Failed, why)),
    };

    match s.connector.execute(&operation).await {
        Ok(outcome) => {
            super::target_answered();
            remember_written(s, &account, &changes).await?;
            match action.kind {
                ActionKind::Delete => link(s, action, &account, LinkState::Deleted).await?,
                ActionKind::Enable => link(s, action, &account, LinkState::Active).await?,
                _ => {}
            }
            remember_grant(s, action, &account, &outcome).await?;
            let mut notes = Vec::new();
            if let Some(name) = created_group {
                notes.push(format!("created group `{name}` first"));
            }
            if action.kind == ActionKind::Delete {
                notes.push(delete_meaning(s.connector.capabilities().delete).to_owned());
            }
            match outcome {
                Outcome::AlreadyAbsent => notes.push("already absent in the target".to_owned()),
                Outcome::Requested => {
                    notes.push("requested; the target may still wait for approval".to_owned())
                }
                _ => {}
            }
            let detail = (!notes.is_empty()).then(|| notes.join("; "));
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

/// What a done Delete did in this target, for its audit event.
fn delete_meaning(meaning: DeleteMeaning) -> &'static str {
    match meaning {
        DeleteMeaning::Disable => "deleted as a disable: the target keeps the account",
        DeleteMeaning::Remove => "the account is removed from the target",
    }
}

/// The name of a group a Grant needs that the target lacks, when the target may create it.
fn group_to_create(s: &Shared, action: &Action) -> Option<String> {
    let p = action.permission.as_ref()?;
    (action.kind == ActionKind::Grant
        && p.group.is_none()
        && s.connector.capabilities().may_create_group(&p.name))
    .then(|| p.name.clone())
}

/// Finds or creates the group, once per name per run.
async fn ensure_group(s: &Shared, name: &str) -> Result<(GroupRef, bool), ConnectorError> {
    let mut ensured = s.ensured_groups.lock().await;
    if let Some(group) = ensured.get(&name.to_lowercase()) {
        return Ok((group.clone(), false));
    }
    let operation = Operation::EnsureGroup {
        name: name.to_owned(),
    };
    match s.connector.execute(&operation).await? {
        Outcome::GroupReady { group, created } => {
            if created {
                tracing::info!(target_name = %s.target, group = %name, reference = %group, "Created a missing group.");
            }
            ensured.insert(name.to_lowercase(), group.clone());
            Ok((group, created))
        }
        other => Err(ConnectorError::Protocol {
            target: s.target.clone(),
            detail: format!("making sure of group `{name}` answered {other:?}"),
        }),
    }
}

/// Grants the target cannot show (or not yet) are remembered; a done Revoke forgets.
async fn remember_grant(
    s: &Shared,
    action: &Action,
    account: &AccountRef,
    outcome: &Outcome,
) -> Result<(), muster_store::StoreError> {
    let Some(p) = &action.permission else {
        return Ok(());
    };
    let Some(group) = &p.group else {
        return Ok(());
    };
    if !s.connector.capabilities().remembers_grants() {
        return Ok(());
    }
    let state = match (action.kind, outcome) {
        (ActionKind::Revoke, _) => {
            return s.store.forget_grant(&s.target, account, group).await;
        }
        (ActionKind::Grant, Outcome::Requested) => GrantState::Requested,
        (ActionKind::Grant, _) if !s.connector.capabilities().membership_visible => {
            GrantState::Granted
        }
        _ => return Ok(()),
    };
    s.store
        .record_grant(&GrantMade {
            target: s.target.clone(),
            account: account.clone(),
            group: group.clone(),
            group_name: p.name.clone(),
            person: action.person.clone(),
            state,
            made_at: chrono::Utc::now(),
        })
        .await
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

/// A create in a target where sign-ins create accounts too: under the person's lock, and
/// only when no sign-in linked an account for the person since this run started (that one is
/// adopted: linked already, the create is done without a request).
async fn create_beside_sign_ins(
    s: &Shared,
    action: &Action,
    attributes: Attributes,
) -> Result<ActionResult, muster_store::StoreError> {
    let Some(sign_ins) = &s.sign_ins else {
        return create(s, action, attributes).await;
    };
    let _held = match sign_ins.locks.lock(&action.person).await {
        Ok(held) => Some(held),
        // More persons sign in at once than the map holds: the target's conflict and the
        // look-up after it still keep the account single.
        Err(busy) => {
            tracing::warn!(target_name = %s.target, error = %busy, "Creating without the person's sign-in lock.");
            None
        }
    };
    let made_at_sign_in = s
        .store
        .person_links(&action.person)
        .await?
        .into_iter()
        .find(|l| {
            l.target == s.target && l.state == LinkState::Active && l.updated_at >= sign_ins.since
        });
    if let Some(link) = made_at_sign_in {
        let mut r = ActionResult::done(
            Some(link.account),
            Some("adopted the account created at sign-in since the plan was made".to_owned()),
        );
        r.attempted = false;
        return Ok(r);
    }
    // A sign-in of someone the source did not know yet keeps no link (`crate::jit`): its
    // account is found by the correlation value instead.
    let value = attributes
        .get(&s.correlation.account_field)
        .and_then(|v| v.as_str());
    if let Some(account) =
        value.and_then(|v| sign_ins.locks.take_made(&s.target, v, sign_ins.since))
    {
        link(s, action, &account, LinkState::Active).await?;
        let mut r = ActionResult::done(
            Some(account),
            Some("adopted the account created at sign-in since the plan was made".to_owned()),
        );
        r.attempted = false;
        return Ok(r);
    }
    create(s, action, attributes).await
}

/// Create, and when the outcome is unknown or collided, look the account up before anything
/// else: one match is the account (linked), none means retry (unknown outcome) or fail
/// (conflict), several means the person is disputed. A target without a look-up
/// (`Capabilities::lookup` false) is never sent the create again in this run.
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
                super::target_answered();
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
        if !s.connector.capabilities().lookup {
            // Without a look-up the outcome stays unknown, and a retry could duplicate the
            // account: the create ends failed, and the next run's full read settles it.
            return Ok(ActionResult::failed_with(
                &error,
                format!(
                    "{error}; not retried: this target cannot look accounts up, so the next run's read shows whether the account exists"
                ),
            ));
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
    // An orphan account (`muster reconcile`) has no person to link it to.
    if crate::reconcile::is_orphan_person(&action.person) {
        return Ok(());
    }
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

#[cfg(test)]
mod tests {
    //! The capabilities this module reads, against a connector that answers as told and an
    //! in-memory store.
    use super::*;
    use muster_core::connector::{Capabilities, Observed, ObservedAccount};
    use muster_core::model::PersonPath;
    use muster_core::plan::{ActionId, FieldChange};
    use muster_store::{JournalEntry, RunMode};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Every create is lost on the way back (`Uncertain`); a look-up finds one account; every
    /// other write is done. Counts the creates and the look-ups.
    struct Lossy {
        target: TargetName,
        capabilities: Capabilities,
        creates: AtomicUsize,
        lookups: AtomicUsize,
        /// Updates are rejected (400) with this text.
        refuse: std::sync::Mutex<Option<String>>,
    }

    #[async_trait::async_trait]
    impl Connector for Lossy {
        fn target(&self) -> &TargetName {
            &self.target
        }

        fn capabilities(&self) -> &Capabilities {
            &self.capabilities
        }

        async fn read_all(&self) -> Result<Observed, ConnectorError> {
            Ok(Observed::default())
        }

        async fn lookup(
            &self,
            _attribute: &str,
            _value: &str,
        ) -> Result<Vec<ObservedAccount>, ConnectorError> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            Ok(vec![ObservedAccount {
                reference: "acc-1".into(),
                enabled: true,
                attributes: Attributes::new(),
            }])
        }

        async fn execute(&self, operation: &Operation) -> Result<Outcome, ConnectorError> {
            match operation {
                Operation::Create { .. } => {
                    self.creates.fetch_add(1, Ordering::SeqCst);
                    Err(ConnectorError::Uncertain {
                        target: self.target.clone(),
                        method: "POST".into(),
                        path: "/Users".into(),
                        detail: "connection reset".into(),
                    })
                }
                Operation::Update { .. } => match self.refuse.lock().unwrap().clone() {
                    Some(detail) => Err(ConnectorError::Rejected {
                        target: self.target.clone(),
                        method: "PUT".into(),
                        path: "/Users/acc-1".into(),
                        status: 400,
                        detail,
                    }),
                    None => Ok(Outcome::Done),
                },
                _ => Ok(Outcome::Done),
            }
        }
    }

    async fn shared(capabilities: Capabilities) -> (Shared, Arc<Lossy>) {
        let store: Arc<dyn Store> = Arc::new(muster_store::open_sqlite_memory().await.unwrap());
        let run = store.start_run(RunMode::Apply, "cfg").await.unwrap().id;
        let connector = Arc::new(Lossy {
            target: "t".into(),
            capabilities,
            creates: AtomicUsize::new(0),
            lookups: AtomicUsize::new(0),
            refuse: std::sync::Mutex::new(None),
        });
        let shared = Shared {
            run,
            target: "t".into(),
            connector: connector.clone(),
            store,
            correlation: Correlation {
                person: PersonPath::ExternalId,
                account_field: "userName".into(),
                case_insensitive: true,
            },
            key: Secret::new("key"),
            ensured_groups: Default::default(),
            sign_ins: None,
            places: Arc::new(Semaphore::new(1)),
            stopped: OnceLock::new(),
        };
        (shared, connector)
    }

    async fn act(s: &Shared, kind: ActionKind, account: Option<AccountRef>) -> ActionResult {
        let action = Action {
            id: ActionId(0),
            kind,
            person: "p1".into(),
            account: account.clone(),
            depends_on: vec![],
            waits_for: vec![],
            enabled: Some(true),
            changes: vec![FieldChange {
                field: "userName".into(),
                before: None,
                after: Some(serde_json::json!("p1@example.org")),
                secret: false,
                account_of: None,
            }],
            permission: None,
            resend: vec![],
            reason: String::new(),
        };
        let entry = JournalEntry {
            run: s.run.clone(),
            target: s.target.clone(),
            action: 0,
            kind,
            person: action.person.clone(),
            account: account.clone(),
            permission: None,
            state: JournalState::Planned,
            detail: None,
            updated_at: chrono::Utc::now(),
        };
        s.store.journal_planned(&s.run, vec![entry]).await.unwrap();
        run(s, &action, account).await
    }

    #[tokio::test]
    async fn an_uncertain_create_is_looked_up_where_the_target_can() {
        let (s, c) = shared(Capabilities::default()).await;
        let r = act(&s, ActionKind::Create, None).await;
        assert_eq!(r.outcome, ActionOutcome::Done, "{:?}", r.detail);
        assert_eq!(r.account, Some("acc-1".into()));
        assert_eq!(c.creates.load(Ordering::SeqCst), 1);
        assert_eq!(c.lookups.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_action_that_gets_its_place_after_a_stop_ends_skipped_without_sending() {
        let (s, c) = shared(Capabilities::default()).await;
        s.stopped.set("quarantined: test".into()).unwrap();
        let r = act(&s, ActionKind::Create, None).await;
        assert_eq!(r.outcome, ActionOutcome::Skipped);
        assert_eq!(
            r.detail.as_deref(),
            Some("target stopped: quarantined: test")
        );
        assert!(!r.attempted);
        assert_eq!(c.creates.load(Ordering::SeqCst), 0, "nothing sent");
        let journal = s.store.journal(&s.run).await.unwrap();
        assert_eq!(
            journal[0].state,
            JournalState::Sent,
            "its marker was written first"
        );
    }

    #[tokio::test]
    async fn a_create_adopts_the_account_a_sign_in_linked_since_the_run_started() {
        let (mut s, c) = shared(Capabilities::default()).await;
        let since = chrono::Utc::now();
        s.sign_ins = Some(SignIns {
            locks: crate::jit::locks::PersonLocks::new(10),
            since,
        });
        // A link from before the run (a stale one) is not the sign-in's: the create is sent.
        let stale = Link {
            target: "t".into(),
            person: "p1".into(),
            account: "old".into(),
            state: LinkState::Active,
            updated_at: since - chrono::Duration::days(1),
        };
        s.store.upsert_link(&stale).await.unwrap();
        let r = act(&s, ActionKind::Create, None).await;
        assert_eq!(c.creates.load(Ordering::SeqCst), 1, "{:?}", r.detail);
        // Linked by a sign-in after the plan was made: adopted, nothing sent.
        let (mut s, c) = shared(Capabilities::default()).await;
        s.sign_ins = Some(SignIns {
            locks: crate::jit::locks::PersonLocks::new(10),
            since: chrono::Utc::now() - chrono::Duration::seconds(1),
        });
        s.store
            .upsert_link(&Link {
                account: "made-at-sign-in".into(),
                updated_at: chrono::Utc::now(),
                ..stale
            })
            .await
            .unwrap();
        let r = act(&s, ActionKind::Create, None).await;
        assert_eq!(r.outcome, ActionOutcome::Done);
        assert_eq!(r.account, Some("made-at-sign-in".into()));
        assert!(r.detail.unwrap_or_default().contains("created at sign-in"));
        assert_eq!(c.creates.load(Ordering::SeqCst), 0);
        assert_eq!(c.lookups.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn without_a_look_up_an_uncertain_create_is_never_sent_again() {
        let (s, c) = shared(Capabilities {
            lookup: false,
            ..Capabilities::default()
        })
        .await;
        let r = act(&s, ActionKind::Create, None).await;
        assert_eq!(r.outcome, ActionOutcome::Failed);
        let detail = r.detail.unwrap_or_default();
        assert!(
            detail.contains("not retried") && detail.contains("cannot look accounts up"),
            "{detail}"
        );
        assert_eq!(c.creates.load(Ordering::SeqCst), 1, "one POST only");
        assert_eq!(c.lookups.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_done_delete_says_what_it_did_in_this_target() {
        for (meaning, says) in [
            (DeleteMeaning::Disable, "the target keeps the account"),
            (DeleteMeaning::Remove, "removed from the target"),
        ] {
            let (s, _) = shared(Capabilities {
                delete: meaning,
                ..Capabilities::default()
            })
            .await;
            let r = act(&s, ActionKind::Delete, Some("acc-1".into())).await;
            assert_eq!(r.outcome, ActionOutcome::Done, "{:?}", r.detail);
            let detail = r.detail.unwrap_or_default();
            assert!(detail.contains(says), "{meaning:?}: {detail}");
        }
    }

    #[tokio::test]
    async fn a_refusal_no_retry_changes_is_remembered_for_the_refused_value_only() {
        let refusing = || {
            shared(Capabilities {
                refusals: vec![muster_core::connector::FieldRefusal {
                    field: "userName".into(),
                    detail_contains: "Alias is a guest".into(),
                }],
                ..Capabilities::default()
            })
        };
        let (other_s, other_c) = refusing().await;
        *other_c.refuse.lock().unwrap() = Some("Error creating alias: Domain Not Owned".into());
        let other = act(&other_s, ActionKind::Update, Some("acc-1".into())).await;
        assert_eq!(other.outcome, ActionOutcome::Failed);
        assert!(
            other_s
                .store
                .fingerprints(&other_s.target)
                .await
                .unwrap()
                .is_empty(),
            "another refusal is retried next run"
        );

        let (s, c) = refusing().await;
        let memory = muster_core::connector::FieldRefusal::memory_field("userName");
        *c.refuse.lock().unwrap() =
            Some("Error creating alias: Alias is a guest: p1@example.org".into());
        let r = act(&s, ActionKind::Update, Some("acc-1".into())).await;
        assert_eq!(
            r.outcome,
            ActionOutcome::Failed,
            "reported as the failure it is"
        );
        assert!(r.detail.unwrap_or_default().contains("Alias is a guest"));
        let stored = s.store.fingerprints(&s.target).await.unwrap();
        assert_eq!(stored.len(), 1, "{stored:?}");
        assert_eq!(stored[0].account, AccountRef::from("acc-1"));
        assert_eq!(stored[0].field, memory);
        let account: AccountRef = "acc-1".into();
        assert_eq!(
            stored[0].hmac,
            fingerprint(
                &s.key,
                &s.target,
                &account,
                "userName",
                &serde_json::json!("p1@example.org")
            ),
            "keyed to the refused value, so another value is sent again"
        );
    }
}
