//! Just-in-time provisioning: an account when a person signs in, so that no one waits for the
//! scheduled run. The server's hooks (Entra, Okta, OpenID Connect) turn a login into a
//! [`SignIn`]; [`Engine::sign_in`] runs the one-person pipeline for every target with `jit`:
//!
//! ```text
//! sign-in person ─▶ merged with the last HR record ─▶ evaluate (the run's rules and mappings)
//!   ─▶ policy (users only, allowed domains) ─▶ the person's link, else one filtered look-up
//!   (and, when no account is found, the granted groups looked up by name)
//!   ─▶ diff (the run's correlation) ─▶ Create + its Grants, or Correlate only
//!   ─▶ execute (journal, audit)
//! ```
//!
//! - **The same stages.** `evaluate` and `plan::diff` of `muster-core`, with the target's
//!   policy, correlation and domain filter, over what the look-ups found: no second
//!   implementation. Of the plan only a Create and the Grants that depend on it (and a
//!   Correlate, which links an existing account and sends nothing) are carried out, by the
//!   executor, so each is journaled and audited like any action, its reason saying "created
//!   at sign-in" or "granted at sign-in"; a Grant runs after the Create, on its account.
//!   Updates, a Correlate's grants and everything else stay with the scheduled run, which
//!   correlates the account (the link is stored) and converges it.
//! - **Grants need a group that exists.** The groups are looked up by name without members
//!   ([`Connector::lookup_groups`]; a new account is in none). A Grant whose group is missing,
//!   or shares its name with another, is left to the scheduled run, as are all of them where
//!   the target cannot look groups up or the look-up failed: a sign-in never creates a group.
//!   The outcome names what was granted and what was left, with why.
//! - **The person.** The HR record of the last snapshot wins for every field it has; the
//!   sign-in's claims fill the rest (a new hire not yet in a snapshot is the claims alone).
//! - **One at a time per person** ([`locks::PersonLocks`]): concurrent sign-ins of one person
//!   wait for each other, and the second finds the first one's link. The scheduled apply
//!   takes the same lock around each Create of a target with `jit`, and adopts an account a
//!   sign-in linked after the plan was made instead of creating it again; in another process
//!   the target's conflict (409) and the executor's look-up settle it.
//! - **Its own runs.** A sign-in that writes opens a run of its own (mode `sign-in`, one
//!   target, one person). It is registered as live while it lasts, so this process's crash
//!   recovery does not take it for a dead run; another process's recovery leaves unfinished
//!   sign-in runs alone until they are older than any sign-in lasts.
//! - **A link only under the source's key.** A person the last snapshot does not know keeps
//!   no link to the account made at sign-in: the scheduled run links it by correlation to
//!   the source's person, where a link under the sign-in's key would make that key a leaver.
//! - **First in the rate budget.** Everything a sign-in sends waits in the interactive queue of
//!   the target's token bucket (`muster_connectors::http::priority`).
//!
//! The future is `Send` and owns nothing borrowed but the engine: the server spawns it on an
//! `Arc<Engine>` and answers the identity provider at its deadline, whether or not it has ended.

pub mod locks;
mod person;
mod policy;

pub use policy::{Identities, JitPolicy};

use crate::config::TargetConfig;
use crate::error::EngineError;
use crate::execute::{execute, ExecContext};
use crate::run::{Engine, SOURCE_NAME};
use futures::future::join_all;
use muster_connectors::http::priority;
use muster_core::connector::{Connector, Observed, ObservedAccount, ObservedGroup};
use muster_core::evaluate::{evaluate, AccountState, Evaluation};
use muster_core::gate::{target_gate, Releases, TargetThresholds};
use muster_core::model::{AccountRef, ExternalId, Person, TargetName};
use muster_core::plan::{diff, Action, ActionId, ActionKind, DiffInput, StoredLink, TargetPlan};
use muster_core::report::RunSummary;
use muster_store::{JournalEntry, JournalState, LinkState, RunId, RunMode};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::RwLock;

/// The longest a sign-in's create may take before it is given up (its journal entry then
/// settled by the next apply); recovery in other processes waits longer than this
/// ([`crate::recover`]) before it takes an unfinished sign-in run for dead.
pub(crate) const SIGN_IN_LIMIT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// How the login reached Muster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignInVia {
    /// Entra ID's `OnTokenIssuanceStart` custom authentication extension.
    Entra,
    /// An Okta inline hook.
    Okta,
    /// Muster as OpenID Connect relying party.
    Oidc,
}

impl std::fmt::Display for SignInVia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Entra => "Entra ID",
            Self::Okta => "Okta",
            Self::Oidc => "OpenID Connect",
        })
    }
}

/// One login, as the server's hook understood it.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// The person from the claims (the configured claim map); `external_id` is the key.
    pub person: Person,
    pub via: SignInVia,
    /// Who signed in, for the audit: issuer + `sub`, or Entra's `tid` + `oid`. Never a token.
    pub subject: String,
}

/// What a sign-in did, per target with `jit`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JitReport {
    pub person: ExternalId,
    pub targets: Vec<JitTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JitTarget {
    pub target: TargetName,
    pub outcome: JitOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum JitOutcome {
    /// Created now, at sign-in, with the groups granted with it.
    Created {
        account: AccountRef,
        /// The groups the rules grant that were granted at sign-in, by name.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        granted: Vec<String>,
        /// The groups the rules grant that are left to the scheduled run, each with why
        /// (`Sales: the target has no group named …`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        left: Vec<String>,
    },
    /// The person has an account already (linked, or found by the look-up and linked now).
    Exists { account: AccountRef },
    /// The rules grant no account here (yet), or the plan holds the person, with why.
    NotGranted { reason: String },
    /// The sign-in policy refuses (not a user, a domain not allowed, several accounts match).
    Refused { reason: String },
    /// The target or the store failed; the scheduled run will try again.
    Failed { reason: String },
}

impl JitReport {
    /// Whether any target created an account.
    pub fn created(&self) -> bool {
        self.targets
            .iter()
            .any(|t| matches!(t.outcome, JitOutcome::Created { .. }))
    }
}

/// What the engine keeps for sign-ins: the per-person locks and the runs in progress.
#[derive(Debug)]
pub struct JitState {
    pub(crate) locks: Arc<locks::PersonLocks>,
    /// Sign-in runs that are open now. Written while a run is opened and closed, read by crash
    /// recovery for as long as it settles, so it never closes one of them as dead.
    pub(crate) live: RwLock<HashSet<RunId>>,
}

impl Default for JitState {
    fn default() -> Self {
        Self {
            locks: locks::PersonLocks::new(locks::PersonLocks::DEFAULT_CAPACITY),
            live: RwLock::new(HashSet::new()),
        }
    }
}

impl Engine {
    /// Runs a sign-in through every target with `jit` (see the [module](self)). Fails only
    /// when the sign-in itself is unusable or too many persons sign in at once; a target's
    /// failure is that target's [`JitOutcome::Failed`].
    pub async fn sign_in(&self, sign_in: SignIn) -> Result<JitReport, EngineError> {
        priority::interactive(self.sign_in_now(sign_in)).await
    }

    async fn sign_in_now(&self, sign_in: SignIn) -> Result<JitReport, EngineError> {
        let key = sign_in.person.external_id.clone();
        if key.as_str().trim().is_empty() {
            return Err(EngineError::SignIn {
                subject: sign_in.subject,
                reason: "the sign-in names no person (its ExternalId is empty)".into(),
            });
        }
        let _held = self
            .jit
            .locks
            .lock(&key)
            .await
            .map_err(|busy| EngineError::SignIn {
                subject: sign_in.subject.clone(),
                reason: busy.to_string(),
            })?;
        let today = chrono::Local::now().date_naive();
        let (mut person, known) = self.with_hr_record(sign_in.person.clone()).await?;
        self.config.primary_rule.apply(&mut person, today);
        let targets = self.config.targets.iter().filter(|t| t.jit.is_some());
        let outcomes = join_all(targets.map(|t| async {
            let outcome = match self
                .sign_in_target(t, &person, known, &sign_in, today)
                .await
            {
                Ok(o) => o,
                Err(e) => JitOutcome::Failed {
                    reason: e.to_string(),
                },
            };
            JitTarget {
                target: t.name.clone(),
                outcome,
            }
        }))
        .await;
        for t in &outcomes {
            tracing::info!(person = %key, via = %sign_in.via, target_name = %t.target, outcome = ?t.outcome, "Sign-in handled.");
        }
        Ok(JitReport {
            person: key,
            targets: outcomes,
        })
    }

    /// The claims' person merged with the person's record in the last snapshot, if any, and
    /// whether there was one (the source knows this person's key).
    async fn with_hr_record(&self, claims: Person) -> Result<(Person, bool), EngineError> {
        let Some(meta) = self.store.latest_snapshot(SOURCE_NAME).await? else {
            return Ok((claims, false));
        };
        let Some(hr) = self
            .store
            .snapshot_person(meta.id, &claims.external_id)
            .await?
        else {
            return Ok((claims, false));
        };
        Ok((person::merged(&hr.record, claims)?, true))
    }

    /// One target's part of a sign-in. A person the source does not know (`known` false: the
    /// key came from the identity provider, or a new hire not yet read) keeps no link: the
    /// scheduled run adopts the account by correlation under the source's key, where a link
    /// under the sign-in's key would make it that person's leaver.
    async fn sign_in_target(
        &self,
        t: &TargetConfig,
        person: &Person,
        known: bool,
        sign_in: &SignIn,
        today: chrono::NaiveDate,
    ) -> Result<JitOutcome, EngineError> {
        let Some(policy) = &t.jit else {
            return Ok(JitOutcome::NotGranted {
                reason: "accounts are not created at sign-in in this target".into(),
            });
        };
        if let Some(account) = self.linked_account(&t.name, &person.external_id).await? {
            return Ok(JitOutcome::Exists { account });
        }
        let evaluation = evaluate(person, &t.policy, today);
        if !matches!(
            evaluation.state,
            AccountState::Enabled | AccountState::Disabled
        ) {
            return Ok(JitOutcome::NotGranted {
                reason: evaluation.why,
            });
        }
        if let Some(reason) = policy.refuses(person, &evaluation) {
            return Ok(JitOutcome::Refused { reason });
        }
        let connector = self.connected(t).await?;
        let value = evaluation.correlation_value.clone();
        let Some(OnePerson {
            plan,
            groups_unknown,
        }) = self.one_person_plan(t, &connector, evaluation).await?
        else {
            return Ok(JitOutcome::Failed {
                reason: "the target cannot look accounts up, so a sign-in cannot tell whether the account exists".into(),
            });
        };
        if let Some(held) = plan.held.first() {
            return Ok(JitOutcome::NotGranted {
                reason: held.reason.clone(),
            });
        }
        if let Some(d) = plan.disputed.first() {
            return Ok(JitOutcome::Refused {
                reason: format!(
                    "{} accounts match {:?}: an administrator must link one",
                    d.accounts.len(),
                    d.value
                ),
            });
        }
        let Some(SignInPlan { plan, left }) = creation_only(plan, sign_in) else {
            return Ok(JitOutcome::NotGranted {
                reason: "nothing to create".into(),
            });
        };
        // Groups unknown as a whole say so once per grant, rather than "no group named".
        let left = if groups_unknown.is_empty() {
            left
        } else {
            groups_unknown
        };
        if !known {
            // The look-up found the account an earlier sign-in made: nothing to link.
            if let Some(account) = plan
                .actions
                .iter()
                .find(|a| a.kind == ActionKind::Correlate)
                .and_then(|a| a.account.clone())
            {
                return Ok(JitOutcome::Exists { account });
            }
        }
        let outcome = self
            .execute_sign_in(t, &connector, plan, person, left)
            .await?;
        if !known {
            if let JitOutcome::Created { account, .. } | JitOutcome::Exists { account } = &outcome {
                self.store.remove_link(&t.name, &person.external_id).await?;
                // A scheduled create of the source's person adopts it (`execute::action`).
                if let Some(value) = &value {
                    self.jit
                        .locks
                        .remember_made(&t.name, value, account.clone());
                }
            }
        }
        Ok(outcome)
    }

    /// The person's active link in `target`, if any.
    async fn linked_account(
        &self,
        target: &TargetName,
        person: &ExternalId,
    ) -> Result<Option<AccountRef>, EngineError> {
        Ok(self
            .store
            .person_links(person)
            .await?
            .into_iter()
            .find(|l| l.target == *target && l.state == LinkState::Active)
            .map(|l| l.account))
    }

    /// The links of `target` the person's plan needs: the person's own and those of the
    /// accounts the look-up found, read by key (not every link of the target).
    async fn one_person_links(
        &self,
        t: &TargetConfig,
        person: &ExternalId,
        found: &[ObservedAccount],
    ) -> Result<Vec<StoredLink>, EngineError> {
        let accounts: Vec<AccountRef> = found.iter().map(|a| a.reference.clone()).collect();
        let mut links = self.store.account_links(&t.name, &accounts).await?;
        links.extend(
            self.store
                .person_links(person)
                .await?
                .into_iter()
                .filter(|l| l.target == t.name && !accounts.contains(&l.account)),
        );
        Ok(links.into_iter().map(crate::run::stored_link).collect())
    }

    /// The plan a scheduled run would make for this one person, from one look-up by the
    /// correlation value instead of a full read, and, when no account has the value, the
    /// groups the rules grant looked up by name (without members: a new account is in none);
    /// `None` when the target cannot look accounts up.
    async fn one_person_plan(
        &self,
        t: &TargetConfig,
        connector: &Arc<dyn Connector>,
        evaluation: Evaluation,
    ) -> Result<Option<OnePerson>, EngineError> {
        if !connector.capabilities().lookup {
            return Ok(None);
        }
        let field = &t.policy.correlation.account_field;
        let found = match &evaluation.correlation_value {
            Some(value) => connector
                .lookup(field, value)
                .await
                .map_err(|e| EngineError::target(&t.name, e))?,
            None => Vec::new(),
        };
        let links = self.one_person_links(t, &evaluation.person, &found).await?;
        let (groups, groups_unknown) = if found.is_empty() && evaluation.correlation_value.is_some()
        {
            granted_groups(t, connector.as_ref(), &evaluation.permissions).await
        } else {
            // No Create: a Correlate links and sends nothing, its grants stay with the
            // scheduled run (as do those of a person held for want of a value).
            (Vec::new(), Vec::new())
        };
        let observed = Observed {
            accounts: found,
            groups,
            ..Observed::default()
        };
        let capabilities = crate::run::target_capabilities(t, connector.as_ref());
        let no_fingerprint = |_: &AccountRef, _: &str, _: &serde_json::Value| String::new();
        let plan = diff(&DiffInput {
            target: &t.name,
            capabilities: &capabilities,
            evaluations: std::slice::from_ref(&evaluation),
            held: &HashSet::new(),
            observed: &observed,
            links: &links,
            fingerprints: &HashMap::new(),
            fingerprint: &no_fingerprint,
            correlation: &t.policy.correlation,
            managed: &t.policy.managed_groups(),
            secret_fields: &t.secret_fields,
            departed: &[],
            pending: &HashMap::new(),
            domains: t.domains.as_ref(),
            leave_alone: t.leave_alone.as_ref(),
            type_fields: &t.type_fields,
        });
        Ok(Some(OnePerson {
            plan,
            groups_unknown,
        }))
    }

    /// Carries out the sign-in's plan in a run of its own, and says what became of it;
    /// `left`: the grants already left to the scheduled run, with why.
    async fn execute_sign_in(
        &self,
        t: &TargetConfig,
        connector: &Arc<dyn Connector>,
        plan: TargetPlan,
        person: &Person,
        left: Vec<String>,
    ) -> Result<JitOutcome, EngineError> {
        let kind = plan.actions.first().map(|a| a.kind);
        let gated = target_gate(plan, &TargetThresholds::default(), &Releases::default());
        let run = {
            let mut live = self.jit.live.write().await;
            let run = self
                .store
                .start_run(RunMode::SignIn, &self.config.digest)
                .await?;
            live.insert(run.id.clone());
            run.id
        };
        let key = self.store.fingerprint_key().await;
        let result = match key {
            Ok(key) => {
                // A sign-in is one create and its grants: a shutdown lets it finish.
                let never = tokio_util::sync::CancellationToken::new();
                let ctx = ExecContext {
                    progress: Arc::new(crate::progress::Silent),
                    // It holds the person's lock itself.
                    person_locks: None,
                    ..self.exec_context(&run, t, connector, &key, &never)
                };
                // Bounded, so that recovery elsewhere may take an older sign-in run for dead.
                match tokio::time::timeout(SIGN_IN_LIMIT, execute(&ctx, &gated)).await {
                    Ok(done) => done.map_err(EngineError::from),
                    Err(_) => Err(EngineError::SignIn {
                        subject: person.external_id.to_string(),
                        reason: format!(
                            "the create did not end within {} minutes; the next apply settles it",
                            SIGN_IN_LIMIT.as_secs() / 60
                        ),
                    }),
                }
            }
            Err(e) => Err(e.into()),
        };
        let summary = result.as_ref().ok().map(|s| RunSummary {
            run: run.clone(),
            mode: RunMode::SignIn,
            preview_mode: false,
            blocked: None,
            blocked_persons: 0,
            targets: vec![s.clone()],
        });
        let closed = match &summary {
            Some(s) => {
                let mut json = serde_json::to_value(s).unwrap_or_default();
                json["sign_in"] = serde_json::json!(true);
                self.store.finish_run(&run, s.status(), &json).await
            }
            None => {
                let error = result.as_ref().err().map(ToString::to_string);
                self.store
                    .finish_run(
                        &run,
                        muster_store::RunStatus::Error,
                        &serde_json::json!({ "error": error, "sign_in": true }),
                    )
                    .await
            }
        };
        self.jit.live.write().await.remove(&run);
        closed?;
        result?;
        self.outcome_of(&run, &t.name, &person.external_id, kind, left)
            .await
    }

    /// What the sign-in's run did: the account linked now with the groups granted to it, or
    /// the failure's detail.
    async fn outcome_of(
        &self,
        run: &RunId,
        target: &TargetName,
        person: &ExternalId,
        kind: Option<ActionKind>,
        mut left: Vec<String>,
    ) -> Result<JitOutcome, EngineError> {
        let entries: Vec<JournalEntry> = self
            .store
            .journal(run)
            .await?
            .into_iter()
            .filter(|e| e.target == *target && e.person == *person)
            .collect();
        // `creation_only` numbers the Create (or Correlate) 0 and its grants after it.
        let entry = entries.iter().find(|e| e.action == 0);
        let done = entry.is_some_and(|e| e.state == JournalState::Done);
        let detail = entry.and_then(|e| e.detail.clone());
        let account = self.linked_account(target, person).await?;
        Ok(match (done, account, kind) {
            (true, Some(account), Some(ActionKind::Create)) => {
                if detail.is_some_and(|d| d.contains("re-correlated")) {
                    JitOutcome::Exists { account }
                } else {
                    let granted = granted(&entries, &mut left);
                    JitOutcome::Created {
                        account,
                        granted,
                        left,
                    }
                }
            }
            (true, Some(account), _) => JitOutcome::Exists { account },
            _ => JitOutcome::Failed {
                reason: detail.unwrap_or_else(|| "the create did not complete".into()),
            },
        })
    }
}

/// The names of the Grants done among a sign-in run's `entries`; each other Grant is added
/// to `left`, with its detail.
fn granted(entries: &[JournalEntry], left: &mut Vec<String>) -> Vec<String> {
    let mut granted = Vec::new();
    for grant in entries.iter().filter(|e| e.kind == ActionKind::Grant) {
        let name = grant.permission.clone().unwrap_or_default();
        if grant.state == JournalState::Done {
            granted.push(name);
        } else {
            let why = grant.detail.as_deref().unwrap_or("not done");
            left.push(format!("{name}: {why}"));
        }
    }
    granted
}

/// The plan for one person, and why the grants a create implies are all left to the
/// scheduled run when the target's groups are unknown (one entry per group).
struct OnePerson {
    plan: TargetPlan,
    groups_unknown: Vec<String>,
}

/// The target's groups that `names` (a person's permissions) are, looked up by name without
/// members; when the target cannot say, none, and per name why its grant is left to the
/// scheduled run (a failed look-up leaves the grants, never the create).
async fn granted_groups(
    t: &TargetConfig,
    connector: &dyn Connector,
    names: &BTreeSet<String>,
) -> (Vec<ObservedGroup>, Vec<String>) {
    if names.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let names: Vec<String> = names.iter().cloned().collect();
    let why = if !connector.capabilities().group_lookup {
        tracing::info!(target_name = %t.name, "The target cannot look groups up: the grants of a sign-in's create are left to the scheduled run.");
        "this target cannot look groups up at sign-in".to_owned()
    } else {
        match connector.lookup_groups(&names).await {
            Ok(groups) => return (groups, Vec::new()),
            Err(e) => {
                tracing::warn!(target_name = %t.name, error = %e, "The groups to grant could not be looked up: the grants are left to the scheduled run.");
                format!("the groups could not be looked up ({e})")
            }
        }
    };
    let left = names.iter().map(|n| format!("{n}: {why}")).collect();
    (Vec::new(), left)
}

/// What a sign-in carries out of a plan, and the grants of it left to the scheduled run.
struct SignInPlan {
    plan: TargetPlan,
    /// `name: why` per grant left.
    left: Vec<String>,
}

/// Only what a sign-in does of a plan: its Create with the Grants that depend on it, or the
/// Correlate that links an account the look-up found (alone: its grants stay with the
/// scheduled run), numbered from 0, their reasons saying so. A Grant of a group the plan has
/// no reference for (missing, or several of that name) is left to the scheduled run, which
/// knows whether it exists: a sign-in never creates a group. `None`: nothing to do.
fn creation_only(mut plan: TargetPlan, sign_in: &SignIn) -> Option<SignInPlan> {
    let actions = std::mem::take(&mut plan.actions);
    let at = actions
        .iter()
        .position(|a| matches!(a.kind, ActionKind::Create | ActionKind::Correlate))?;
    let first = &actions[at];
    let implied = |a: &Action| {
        first.kind == ActionKind::Create
            && a.kind == ActionKind::Grant
            && a.depends_on.contains(&first.id)
    };
    let mut creation = vec![at_sign_in(first.clone(), ActionId(0), Vec::new(), sign_in)];
    let mut left = Vec::new();
    let mut others = 0usize;
    for a in actions.iter().filter(|a| a.id != first.id) {
        let name = a
            .permission
            .as_ref()
            .map(|p| (p.name.as_str(), p.group.is_some()));
        match name {
            Some((_, true)) if implied(a) => {
                let id = ActionId(u32::try_from(creation.len()).unwrap_or(u32::MAX));
                creation.push(at_sign_in(a.clone(), id, vec![ActionId(0)], sign_in));
            }
            Some((name, false)) if implied(a) => {
                tracing::info!(person = %a.person, target_name = %plan.target, group = %name, reason = %a.reason, "A grant without a group is left to the scheduled run.");
                left.push(format!("{name}: {}", a.reason));
            }
            _ => others += 1,
        }
    }
    if others > 0 {
        tracing::debug!(person = %first.person, target_name = %plan.target, others, "Actions besides the create and its grants are left to the scheduled run.");
    }
    plan.actions = creation;
    Some(SignInPlan { plan, left })
}

/// `action` as the sign-in carries it out: numbered `id`, after `depends_on` only, its reason
/// saying what it does at whose sign-in.
fn at_sign_in(
    mut action: Action,
    id: ActionId,
    depends_on: Vec<ActionId>,
    sign_in: &SignIn,
) -> Action {
    let what = match action.kind {
        ActionKind::Create => "created at sign-in",
        ActionKind::Grant => "granted at sign-in",
        _ => "linked at sign-in",
    };
    action.id = id;
    action.depends_on = depends_on;
    action.waits_for.clear();
    action.reason = format!(
        "{what} ({} {}): {}",
        sign_in.via, sign_in.subject, action.reason
    );
    action
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster_core::model::GroupRef;
    use muster_core::plan::PermissionTarget;

    fn action(id: u32, kind: ActionKind, group: Option<(&str, Option<&str>)>) -> Action {
        Action {
            id: ActionId(id),
            kind,
            person: "p1".into(),
            account: (kind == ActionKind::Correlate).then(|| AccountRef::new("a1")),
            depends_on: if kind == ActionKind::Grant {
                vec![ActionId(0)]
            } else {
                Vec::new()
            },
            waits_for: Vec::new(),
            enabled: None,
            changes: Vec::new(),
            permission: group.map(|(name, group)| PermissionTarget {
                name: name.to_owned(),
                group: group.map(GroupRef::new),
            }),
            resend: Vec::new(),
            reason: "granted by a business rule".into(),
        }
    }

    fn plan(actions: Vec<Action>) -> TargetPlan {
        let empty = serde_json::json!({"target": "scim", "observed_digest": "", "accounts_observed": 0, "actions": []});
        let plan: TargetPlan = serde_json::from_value(empty).unwrap_or_else(|e| panic!("{e}"));
        TargetPlan { actions, ..plan }
    }

    fn sign_in() -> SignIn {
        SignIn {
            person: serde_json::from_value(serde_json::json!({"ExternalId": "p1"}))
                .unwrap_or_else(|e| panic!("{e}")),
            via: SignInVia::Okta,
            subject: "okta-p1".into(),
        }
    }

    #[test]
    fn a_create_keeps_the_grants_of_existing_groups_after_it_and_leaves_the_rest() {
        let SignInPlan { plan, left } = creation_only(
            plan(vec![
                action(0, ActionKind::Create, None),
                action(1, ActionKind::Grant, Some(("Missing", None))),
                action(2, ActionKind::Grant, Some(("Sales", Some("g1")))),
                action(3, ActionKind::Grant, Some(("Staff", Some("g2")))),
            ]),
            &sign_in(),
        )
        .unwrap_or_else(|| panic!("a plan"));
        let kept: Vec<(u32, ActionKind, Vec<ActionId>)> = plan
            .actions
            .iter()
            .map(|a| (a.id.0, a.kind, a.depends_on.clone()))
            .collect();
        assert_eq!(
            kept,
            [
                (0, ActionKind::Create, vec![]),
                (1, ActionKind::Grant, vec![ActionId(0)]),
                (2, ActionKind::Grant, vec![ActionId(0)]),
            ]
        );
        assert!(plan.actions[1]
            .reason
            .starts_with("granted at sign-in (Okta okta-p1)"));
        assert!(plan.actions[0].reason.starts_with("created at sign-in"));
        assert_eq!(left, ["Missing: granted by a business rule"]);
    }

    #[test]
    fn a_correlate_stays_link_only() {
        let SignInPlan { plan, left } = creation_only(
            plan(vec![
                action(0, ActionKind::Correlate, None),
                action(1, ActionKind::Grant, Some(("Sales", Some("g1")))),
            ]),
            &sign_in(),
        )
        .unwrap_or_else(|| panic!("a plan"));
        assert_eq!(plan.actions.len(), 1);
        assert_eq!(plan.actions[0].kind, ActionKind::Correlate);
        assert!(left.is_empty());
        assert!(creation_only(plan_without_creation(), &sign_in()).is_none());
    }

    fn plan_without_creation() -> TargetPlan {
        plan(vec![action(0, ActionKind::Update, None)])
    }
}
