//! The pipeline, stage by stage, in the order of the design brief:
//!
//! ```text
//! source ─▶ snapshot ─▶ source gate ─▶ evaluate ─▶ correlate+diff ─▶ target gate ─▶ execute ─▶ report
//! ```
//!
//! Preview and apply share [`Engine::prepare`]; preview stops before `execute`. Stages that
//! decide are pure functions in `muster-core`; this module only fetches their inputs (source,
//! store, targets) and stores their outputs.

use crate::config::{Config, TargetConfig};
use crate::connectors::{Connections, HttpMeters, Unreachable};
use crate::error::EngineError;
use crate::execute::{execute, ExecContext};
use crate::fingerprint::fingerprint;
use crate::progress::{Progress, Silent};
use crate::remembered;
use chrono::NaiveDate;
use futures::future::join_all;
use muster_core::connector::{Capabilities, Connector, Observed, ReadScope};
use muster_core::evaluate::{evaluate_all, Evaluation};
use muster_core::gate::{source_gate, target_gate, GatedPlan, Releases, SourceDelta};
use muster_core::model::{AccountRef, ExternalId, Person, SourceRecord, TargetName};
use muster_core::plan::{
    diff, ActionKind, DiffInput, LinkState as PlanLinkState, Plan, StoredLink, TargetPlan,
};
use muster_core::report::{RunSummary, TargetSummary};
use muster_core::unique::{make_unique, UniqueInput};
use muster_sources::SourceRead;
use muster_store::{Approval, LinkState, RunId, RunMode, RunStatus, SnapshotPerson, Store};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The name under which the source's snapshots are stored.
pub const SOURCE_NAME: &str = "source";

/// A source record that could not be read, as reported to the administrator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BlockedRecord {
    pub person: ExternalId,
    pub location: String,
    pub reason: String,
}

/// Everything up to (and including) the target gate.
pub struct Prepared {
    pub persons: Vec<Person>,
    pub blocked_records: Vec<BlockedRecord>,
    pub warnings: Vec<String>,
    pub delta: SourceDelta,
    /// Why the source gate stopped the run, if it did; then no target was read.
    pub source_blocked: Option<String>,
    /// The day the plan was made for.
    pub today: NaiveDate,
    /// Digest of the source read the plan was made from.
    pub source_digest: String,
    /// Each target's plan, as the gate let it through: the only copy of the plan
    /// ([`Prepared::take_plan`] moves it out once the executor is done).
    pub gated: Vec<GatedPlan>,
    /// Approvals that released a threshold in this run, consumed when it is applied.
    pub approvals: Vec<Approval>,
}

/// The result of a preview or an apply.
pub struct RunReport {
    pub run: RunId,
    pub summary: RunSummary,
    pub plan: Plan,
    pub blocked_records: Vec<BlockedRecord>,
    pub warnings: Vec<String>,
}

pub struct Engine {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub progress: Arc<dyn Progress>,
    /// `muster apply --allow-large`: this process's runs go past every threshold and
    /// all-or-nothing limit, and each action let through says so in the audit trail.
    allow_large: bool,
    /// `--perform-sync`: this process's applies write even when the configuration says
    /// `perform_sync = false` (Cloud Sync's preview-by-default mode).
    perform_sync: bool,
    /// `--reset-account-mapping`: this process's runs forget the targets' stored links first
    /// and correlate every account again (after a tenant-to-tenant migration).
    reset_account_mapping: bool,
    /// Each target's connector and HTTP meters (shared with the [`Engine::only_targets`] copies).
    connectors: Arc<Connections>,
    /// Cancelled to stop applies between batches ([`Engine::stop_token`]).
    stop: CancellationToken,
    /// Sign-ins' per-person locks and open runs ([`crate::jit`]), shared with the copies.
    pub(crate) jit: Arc<crate::jit::JitState>,
    /// Leases in the shared store when several nodes may use it (a PostgreSQL store); `None`:
    /// this process is the store's only user (SQLite, a file lock).
    coord: Option<crate::coord::Coordinator>,
}

impl Engine {
    /// Opens the store and connects to every target (secrets are resolved here); fails when
    /// a target cannot be reached (one-shot commands: the administrator sees why at once).
    pub async fn open(config: Config) -> Result<Self, EngineError> {
        Self::open_with(config, Unreachable::Fail).await
    }

    /// As [`Engine::open`], but a target that cannot be reached is recorded instead (a server):
    /// each run that involves it connects again first, and while that fails, the run reports
    /// the target stopped with the reason and goes on with the other targets.
    pub async fn open_tolerant(config: Config) -> Result<Self, EngineError> {
        Self::open_with(config, Unreachable::Record).await
    }

    async fn open_with(config: Config, on: Unreachable) -> Result<Self, EngineError> {
        let store = crate::store::open_store(&config.store).await?;
        let coord = crate::store::open_coordinator(&config.store).await?;
        let connectors = Arc::new(Connections::open(&config.targets, on).await?);
        Ok(Self {
            config,
            store,
            progress: Arc::new(Silent),
            allow_large: false,
            perform_sync: false,
            reset_account_mapping: false,
            connectors,
            stop: CancellationToken::new(),
            jit: Arc::default(),
            coord,
        })
    }

    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// Releases threshold and all-or-nothing blocks for the runs of this engine (one command):
    /// `muster apply --allow-large`. The configuration's `allow_large` is the permanent form.
    pub fn allowing_large(mut self, allow: bool) -> Self {
        self.allow_large = allow;
        self
    }

    /// `--perform-sync`: applies write even under `perform_sync = false` (for this engine's
    /// runs only).
    pub fn performing_sync(mut self, perform: bool) -> Self {
        self.perform_sync = perform;
        self
    }

    /// `--reset-account-mapping`: this engine's runs forget each target's stored links (an
    /// apply removes them from the store before it plans) and correlate every account again.
    pub fn resetting_account_mapping(mut self, reset: bool) -> Self {
        self.reset_account_mapping = reset;
        self
    }

    /// Whether an apply only previews: the configuration says `perform_sync = false` and
    /// this run was not given `--perform-sync`.
    pub fn preview_only(&self) -> bool {
        self.config.run.preview_by_default() && !self.perform_sync
    }

    /// The same engine (store, connectors, progress) restricted to `targets`, for a run of
    /// some targets only (a server schedule). Fails on a name the configuration lacks.
    pub fn only_targets(&self, targets: &[TargetName]) -> Result<Engine, EngineError> {
        if let Some(unknown) = targets
            .iter()
            .find(|t| self.config.target(t.as_str()).is_none())
        {
            return Err(EngineError::UnknownTarget {
                target: unknown.to_string(),
                config: self.config.file.display().to_string(),
            });
        }
        let mut config = self.config.clone();
        config.targets.retain(|t| targets.contains(&t.name));
        Ok(Engine {
            config,
            store: self.store.clone(),
            progress: self.progress.clone(),
            connectors: self.connectors.clone(),
            allow_large: self.allow_large,
            perform_sync: self.perform_sync,
            reset_account_mapping: self.reset_account_mapping,
            stop: self.stop.clone(),
            jit: self.jit.clone(),
            coord: self.coord.clone(),
        })
    }

    /// The node's leases in a store shared by several nodes (PostgreSQL), if it is one.
    pub fn coordinator(&self) -> Option<&crate::coord::Coordinator> {
        self.coord.as_ref()
    }

    /// Cancelling it stops this engine's applies (and those of its [`Engine::only_targets`]
    /// copies) between batches: the actions in flight finish and are journaled, the rest stay
    /// pending in the journal (not failed), and the run ends with each target stopped and why.
    /// The next apply settles the pending entries and carries them out. For a graceful shutdown.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Each connected target's HTTP meters (requests, 429s, rate budget in use), as of now:
    /// a target connected late appears once it is connected.
    pub fn http_meters(&self) -> BTreeMap<TargetName, HttpMeters> {
        self.connectors.meters()
    }

    /// The connector of `target`, if it is connected.
    pub fn connector(&self, target: &TargetName) -> Option<Arc<dyn Connector>> {
        self.connectors.get(target)
    }

    /// The connector of `t`, connecting it first if it could not be reached before.
    pub(crate) async fn connected(
        &self,
        t: &TargetConfig,
    ) -> Result<Arc<dyn Connector>, EngineError> {
        self.connectors.connected(t).await
    }

    /// The targets whose last connect failed, with the reason.
    pub fn unreachable(&self) -> BTreeMap<TargetName, String> {
        self.connectors.unreachable()
    }

    /// The engine for a run when `unreachable` could not be connected: `None` for this one
    /// (all reached), else a copy without them.
    fn reachable_part(
        &self,
        unreachable: &BTreeMap<TargetName, String>,
    ) -> Result<Option<Engine>, EngineError> {
        if unreachable.is_empty() {
            return Ok(None);
        }
        let reachable: Vec<TargetName> = self
            .config
            .targets
            .iter()
            .map(|t| t.name.clone())
            .filter(|name| !unreachable.contains_key(name))
            .collect();
        self.only_targets(&reachable).map(Some)
    }

    /// Stage 1: the source, with primary contracts chosen for `today`.
    pub async fn read_source(
        &self,
        today: NaiveDate,
    ) -> Result<(SourceRead, Vec<Person>, Vec<BlockedRecord>), EngineError> {
        let source = self.config.source.clone();
        let base = self.config.base_dir.clone();
        let read =
            tokio::task::spawn_blocking(move || muster_sources::read_source(&*source, &base))
                .await
                .map_err(|e| EngineError::Stopped {
                    stage: "source reader",
                    detail: e.to_string(),
                })??;
        let mut persons = Vec::with_capacity(read.records.len());
        let mut blocked = Vec::new();
        for r in &read.records {
            match r {
                SourceRecord::Valid(p) => {
                    let mut p = p.clone();
                    self.config.primary_rule.apply(&mut p, today);
                    persons.push(p);
                }
                SourceRecord::Blocked {
                    id,
                    location,
                    reason,
                } => blocked.push(BlockedRecord {
                    person: id.clone(),
                    location: location.clone(),
                    reason: reason.clone(),
                }),
            }
        }
        Ok((read, persons, blocked))
    }

    /// Source → snapshot comparison → source gate → evaluate → read targets → diff → target gate.
    pub async fn prepare(&self, today: NaiveDate) -> Result<Prepared, EngineError> {
        let (read, persons, blocked_records) = self.read_source(today).await?;

        let previous = match self.store.latest_snapshot(SOURCE_NAME).await? {
            Some(meta) => Some(self.store.snapshot_persons(meta.id).await?),
            None => None,
        };
        let current: HashSet<&ExternalId> = persons
            .iter()
            .map(|p| &p.external_id)
            .chain(blocked_records.iter().map(|b| &b.person))
            .collect();
        let delta = source_delta(previous.as_deref(), &persons, &blocked_records);
        if let Err(trips) = source_gate(&delta, &self.config.source_thresholds) {
            return Ok(Prepared {
                persons,
                blocked_records,
                warnings: read.warnings,
                delta,
                source_blocked: Some(trips.join("; ")),
                today,
                source_digest: read.digest,
                gated: Vec::new(),
                approvals: Vec::new(),
            });
        }

        let held: HashSet<ExternalId> = blocked_records.iter().map(|b| b.person.clone()).collect();
        let departed = self.departed(previous.as_deref().unwrap_or_default(), &current, today);
        let futures = self
            .config
            .targets
            .iter()
            .map(|t| self.plan_target(t, &persons, &departed, &held, today));
        let mut gated = Vec::new();
        let mut approvals = Vec::new();
        for result in join_all(futures).await {
            let (g, used) = result?;
            gated.push(g);
            approvals.extend(used);
        }
        Ok(Prepared {
            persons,
            blocked_records,
            warnings: read.warnings,
            delta,
            source_blocked: None,
            today,
            source_digest: read.digest,
            gated,
            approvals,
        })
    }

    /// Persons of the last snapshot who are gone from the source, as they were then: a write
    /// to their account (the Delete) must still re-send the write-only values it would clear.
    fn departed(
        &self,
        previous: &[SnapshotPerson],
        current: &HashSet<&ExternalId>,
        today: NaiveDate,
    ) -> Vec<Person> {
        previous
            .iter()
            .filter(|p| !current.contains(&p.external_id))
            .filter_map(|p| match serde_json::from_value::<Person>(p.record.clone()) {
                Ok(mut person) => {
                    self.config.primary_rule.apply(&mut person, today);
                    Some(person)
                }
                Err(e) => {
                    tracing::warn!(person = %p.external_id, error = %e, "Stored snapshot record is unreadable; its write-only values cannot be re-sent.");
                    None
                }
            })
            .collect()
    }

    /// Reads a target as far as `groups` needs (`None`: every group's members; persons'
    /// accounts one by one where the tenant refuses to list them), and folds in the grants
    /// Muster remembers for it.
    pub(crate) async fn read_target(
        &self,
        t: &TargetConfig,
        connector: &dyn Connector,
        persons: &[Person],
        linked: Vec<AccountRef>,
        groups: Option<muster_core::evaluate::ManagedGroups>,
    ) -> Result<(Observed, remembered::Remembered), EngineError> {
        let scope = ReadScope {
            groups,
            linked,
            correlation_values: persons
                .iter()
                .filter_map(|p| t.policy.correlation.person.get(p, None))
                .map(|v| v.into_owned())
                .collect(),
        };
        let mut observed = connector
            .read_scoped(&scope)
            .await
            .map_err(|e| EngineError::target(&t.name, e))?;
        let grants = if connector.capabilities().remembers_grants() {
            self.store.grants_made(&t.name).await?
        } else {
            Vec::new()
        };
        let remembered = remembered::fold(
            &mut observed,
            grants,
            connector.capabilities(),
            chrono::Utc::now(),
        );
        Ok((observed, remembered))
    }

    async fn plan_target(
        &self,
        t: &TargetConfig,
        persons: &[Person],
        departed: &[Person],
        held: &HashSet<ExternalId>,
        today: NaiveDate,
    ) -> Result<(GatedPlan, Vec<Approval>), EngineError> {
        let connector = self
            .connectors
            .get(&t.name)
            .ok_or_else(|| EngineError::NotConnected(t.name.to_string()))?;
        let links = if self.reset_account_mapping {
            Vec::new()
        } else {
            self.stored_links(&t.name).await?
        };
        let linked = links.iter().map(|l| l.account.clone()).collect();
        let (observed, remembered) = self
            .read_target(
                t,
                connector.as_ref(),
                persons,
                linked,
                t.policy.granted_groups(),
            )
            .await?;
        for done in &remembered.fulfilled {
            self.store
                .forget_grant(&t.name, &done.account, &done.group)
                .await?;
        }
        let fingerprints = self.stored_fingerprints(&t.name).await?;
        let key = self.store.fingerprint_key().await?;
        let capabilities = target_capabilities(t, connector.as_ref());
        let scope = EvaluationScope {
            held,
            observed: &observed,
            links: &links,
            capabilities: &capabilities,
        };
        let (evaluations, departed_evaluations) = self
            .evaluate_target(t, persons, departed, &scope, today)
            .await;
        let target = t.name.clone();
        let fp = move |account: &AccountRef, field: &str, value: &serde_json::Value| {
            fingerprint(&key, &target, account, field, value)
        };
        let target_plan: TargetPlan = diff(&DiffInput {
            target: &t.name,
            capabilities: &capabilities,
            evaluations: &evaluations,
            held,
            observed: &observed,
            links: &links,
            fingerprints: &fingerprints,
            fingerprint: &fp,
            correlation: &t.policy.correlation,
            managed: &t.policy.managed_groups(),
            secret_fields: &t.secret_fields,
            departed: &departed_evaluations,
            pending: &remembered.pending,
            domains: t.domains.as_ref(),
            leave_alone: t.leave_alone.as_ref(),
            type_fields: &t.type_fields,
        });
        self.gate(t, target_plan).await
    }

    /// The stored fingerprints of write-only values, by (account, field).
    async fn stored_fingerprints(
        &self,
        target: &TargetName,
    ) -> Result<HashMap<(AccountRef, String), String>, EngineError> {
        Ok(self
            .store
            .fingerprints(target)
            .await?
            .into_iter()
            .map(|f| ((f.account, f.field), f.hmac))
            .collect())
    }

    /// The target's links as the plan and the correlation index read them.
    pub(crate) async fn stored_links(
        &self,
        target: &TargetName,
    ) -> Result<Vec<StoredLink>, EngineError> {
        Ok(self
            .store
            .links(target)
            .await?
            .into_iter()
            .map(stored_link)
            .collect())
    }

    /// Evaluates the persons (on every core: mapping scripts make this CPU work, and it blocks
    /// this task until done), then settles unique values (user names) across the population
    /// and the target; and evaluates the departed from their last stored records. Script
    /// results stored by an earlier process are loaded first, and stored again after.
    async fn evaluate_target(
        &self,
        t: &TargetConfig,
        persons: &[Person],
        departed: &[Person],
        scope: &EvaluationScope<'_>,
        today: NaiveDate,
    ) -> (Vec<Evaluation>, Vec<Evaluation>) {
        crate::computed_cache::preload(self.store.as_ref(), t).await;
        t.policy.start_run();
        let mut evaluations: Vec<Evaluation> = evaluate_all(persons, &t.policy, today);
        make_unique(
            persons,
            &mut evaluations,
            &UniqueInput {
                mappings: &t.policy.mappings,
                uniqueness: &t.unique,
                observed: scope.observed,
                links: scope.links,
                correlation: &t.policy.correlation,
                capabilities: scope.capabilities,
                held: scope.held,
            },
        );
        let departed_evaluations: Vec<Evaluation> = evaluate_all(departed, &t.policy, today);
        crate::computed_cache::save(self.store.as_ref(), t).await;
        (evaluations, departed_evaluations)
    }

    /// The target gate with the approvals still open for the target: the gated plan, and the
    /// approvals that released a threshold in it (consumed when it is applied).
    pub(crate) async fn gate(
        &self,
        t: &TargetConfig,
        target_plan: TargetPlan,
    ) -> Result<(GatedPlan, Vec<Approval>), EngineError> {
        let open = self.store.open_approvals(&t.name).await?;
        let mut releases = Releases {
            allow_large: self.allow_large,
            ..Releases::default()
        };
        for a in &open {
            *releases
                .approved
                .entry(a.kind.threshold_group())
                .or_default() += a.count;
        }
        let gated = target_gate(target_plan, &t.thresholds, &releases);
        let used_groups = gated.approved_groups();
        let used = open
            .into_iter()
            .filter(|a| used_groups.contains(&a.kind.threshold_group()))
            .collect();
        Ok((gated, used))
    }

    /// Preview: plan only. Blocked thresholds are recorded so the run can be approved.
    pub async fn preview(&self, today: NaiveDate) -> Result<RunReport, EngineError> {
        let run = self
            .store
            .start_run(RunMode::Preview, &self.config.digest)
            .await?;
        let unreachable = self.connectors.ensure(&self.config.targets).await;
        let part = self.reachable_part(&unreachable)?;
        let mut result = part
            .as_ref()
            .unwrap_or(self)
            .preview_run(&run.id, today)
            .await;
        mark_unreachable(&mut result, &unreachable);
        self.close(&run.id, &result).await?;
        result
    }

    /// An apply under `perform_sync = false` without `--perform-sync`: a preview whose summary
    /// says it ran in preview mode (nothing is written, blocks are recorded for approval).
    async fn preview_mode(&self, today: NaiveDate) -> Result<RunReport, EngineError> {
        let run = self
            .store
            .start_run(RunMode::Preview, &self.config.digest)
            .await?;
        let unreachable = self.connectors.ensure(&self.config.targets).await;
        let part = self.reachable_part(&unreachable)?;
        let mut result = part
            .as_ref()
            .unwrap_or(self)
            .preview_run(&run.id, today)
            .await;
        if let Ok(report) = &mut result {
            report.summary.preview_mode = true;
        }
        mark_unreachable(&mut result, &unreachable);
        self.close(&run.id, &result).await?;
        result
    }

    async fn preview_run(&self, run: &str, today: NaiveDate) -> Result<RunReport, EngineError> {
        let mut prepared = self.prepare(today).await?;
        self.record_blocked(run, &prepared).await?;
        let mut summary = self.summary_of(run, RunMode::Preview, &prepared);
        for (t, g) in summary.targets.iter_mut().zip(&prepared.gated) {
            for a in &g.plan().actions {
                let c = t.by_action.entry(a.kind).or_default();
                c.planned += 1;
                if g.is_blocked(a) {
                    c.blocked += 1;
                }
            }
        }
        Ok(RunReport {
            run: run.into(),
            summary,
            plan: prepared.take_plan(),
            blocked_records: prepared.blocked_records,
            warnings: prepared.warnings,
        })
    }

    /// Apply: plan, gate, execute. With `expected`, executes only if a fresh plan equals it
    /// (same source, same target state, same actions), and refuses otherwise.
    pub async fn apply(
        &self,
        today: NaiveDate,
        expected: Option<&Plan>,
    ) -> Result<RunReport, EngineError> {
        if self.preview_only() {
            return self.preview_mode(today).await;
        }
        // Held until the run is closed: no other process writes through this store meanwhile,
        // so runs left unfinished are dead and recovery may settle them.
        let lock = self.apply_lock().await?;
        let result = self.apply_locked(&lock, today, expected).await;
        lock.release().await;
        result
    }

    /// The store's apply lock: a lease when the store is shared by several nodes, else a file
    /// lock ([`crate::lock`]).
    pub(crate) async fn apply_lock(&self) -> Result<crate::lock::ApplyLock, EngineError> {
        crate::lock::ApplyLock::take(&self.config, self.coord.as_ref()).await
    }

    async fn apply_locked(
        &self,
        lock: &crate::lock::ApplyLock,
        today: NaiveDate,
        expected: Option<&Plan>,
    ) -> Result<RunReport, EngineError> {
        let run = self
            .store
            .start_run(RunMode::Apply, &self.config.digest)
            .await?;
        // Stops between batches on a shutdown, or when this node lost the apply lease.
        let stop = lock.run_stop(&self.stop);
        let unreachable = self.connectors.ensure(&self.config.targets).await;
        let part = self.reachable_part(&unreachable)?;
        let mut result = part
            .as_ref()
            .unwrap_or(self)
            .apply_run(&run.id, today, expected, stop.token())
            .await;
        mark_unreachable(&mut result, &unreachable);
        self.close(&run.id, &result).await?;
        result
    }

    async fn apply_run(
        &self,
        run: &str,
        today: NaiveDate,
        expected: Option<&Plan>,
        stop: &CancellationToken,
    ) -> Result<RunReport, EngineError> {
        if self.reset_account_mapping {
            self.forget_links().await?;
        }
        let mut prepared = self.prepare(today).await?;
        if let Some(expected) = expected {
            check_unchanged(expected, &prepared)?;
        }
        let mut summary = self.summary_of(run, RunMode::Apply, &prepared);
        if prepared.source_blocked.is_some() {
            return Ok(RunReport {
                run: run.into(),
                summary,
                plan: prepared.take_plan(),
                blocked_records: prepared.blocked_records,
                warnings: prepared.warnings,
            });
        }
        self.record_blocked(run, &prepared).await?;
        let fresh: Vec<&TargetPlan> = prepared.gated.iter().map(GatedPlan::plan).collect();
        let recovered = {
            // Sign-ins open no run while recovery settles, and their open runs are not dead.
            let live = self.jit.live.read().await;
            crate::recover::recover_except(
                self.store.as_ref(),
                run,
                &fresh,
                crate::recover::Scope::Persons,
                &live,
            )
            .await?
        };
        if !recovered.is_empty() {
            prepared.warnings.push(recovered.describe());
        }
        let key = self.store.fingerprint_key().await?;
        let mut contexts = Vec::new();
        for g in &prepared.gated {
            let Some(t) = self.config.target(g.plan().target.as_str()) else {
                continue;
            };
            let Some(connector) = self.connectors.get(&t.name) else {
                continue;
            };
            contexts.push((self.exec_context(run, t, &connector, &key, stop), g));
        }
        // A child of the run's own stop (a shutdown, or the lease `apply` lost), never of the
        // engine's alone: a node that lost its lease must stop starting actions.
        let cap = RunCap::start(stop, self.config.run.max_run_time);
        for (ctx, _) in &mut contexts {
            ctx.stop = cap.token.clone();
        }
        let results = join_all(contexts.iter().map(|(ctx, g)| execute(ctx, g))).await;
        summary.targets = Vec::new();
        for r in results {
            summary.targets.push(r?);
        }
        cap.explain(stop, &mut summary.targets);
        // An approval is used up unless a shutdown left its target's actions pending: then it
        // stays for the apply that finishes them. Every other approval is consumed, so it
        // never releases a later, unrelated change.
        for a in &prepared.approvals {
            let cut_short = summary
                .targets
                .iter()
                .any(|t| t.target == a.target && t.left_pending > 0);
            if !cut_short {
                self.store.consume_approval(a.id, run).await?;
            }
        }
        self.save_snapshot(run, &prepared).await?;
        Ok(RunReport {
            run: run.into(),
            summary,
            plan: prepared.take_plan(),
            blocked_records: prepared.blocked_records,
            warnings: prepared.warnings,
        })
    }

    /// `--reset-account-mapping` in an apply: every target's stored links are forgotten, once,
    /// so the plan correlates each account again by its correlation field.
    async fn forget_links(&self) -> Result<(), EngineError> {
        for t in &self.config.targets {
            let links = self.store.links(&t.name).await?;
            tracing::warn!(target_name = %t.name, links = links.len(), "Forgetting the stored account links (reset_account_mapping).");
            for l in links {
                self.store.remove_link(&t.name, &l.person).await?;
            }
        }
        Ok(())
    }

    /// What the executor needs to run one target's plan in `run`.
    pub(crate) fn exec_context(
        &self,
        run: &str,
        t: &TargetConfig,
        connector: &Arc<dyn Connector>,
        key: &muster_core::secret::Secret,
        stop: &CancellationToken,
    ) -> ExecContext {
        ExecContext {
            run: run.into(),
            target: t.name.clone(),
            connector: connector.clone(),
            store: self.store.clone(),
            correlation: t.policy.correlation.clone(),
            fingerprint_key: key.clone(),
            progress: self.progress.clone(),
            quarantine: t.quarantine,
            stop: stop.clone(),
            person_locks: t.jit.is_some().then(|| self.jit.locks.clone()),
        }
    }

    fn summary_of(&self, run: &str, mode: RunMode, prepared: &Prepared) -> RunSummary {
        RunSummary {
            run: run.into(),
            mode,
            blocked: prepared.source_blocked.clone(),
            blocked_persons: prepared.blocked_records.len(),
            targets: prepared
                .gated
                .iter()
                .map(|g| {
                    let plan = g.plan();
                    let mut t = TargetSummary::new(plan.target.clone());
                    t.disputed = plan.disputed.len();
                    t.held = plan.held.len();
                    t.warnings = plan.warnings.clone();
                    t.blocks = g.blocks().to_vec();
                    t
                })
                .collect(),
            preview_mode: false,
        }
    }

    async fn record_blocked(&self, run: &str, prepared: &Prepared) -> Result<(), EngineError> {
        for g in &prepared.gated {
            for (kind, count, reason) in g.approvable() {
                self.store
                    .record_blocked(run, &g.plan().target, kind, count, &reason)
                    .await?;
            }
        }
        Ok(())
    }

    async fn save_snapshot(&self, run: &str, prepared: &Prepared) -> Result<(), EngineError> {
        let mut records = Vec::with_capacity(prepared.persons.len());
        for p in &prepared.persons {
            let record = serde_json::to_value(p).map_err(|error| EngineError::Snapshot {
                person: p.external_id.to_string(),
                error,
            })?;
            let hash = Sha256::digest(record.to_string().as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            records.push(SnapshotPerson {
                external_id: p.external_id.clone(),
                record_hash: hash,
                record,
            });
        }
        self.store
            .save_snapshot(
                SOURCE_NAME,
                run,
                &prepared.source_digest,
                &records,
                prepared.blocked_records.len(),
            )
            .await?;
        Ok(())
    }

    async fn close(
        &self,
        run: &str,
        result: &Result<RunReport, EngineError>,
    ) -> Result<(), EngineError> {
        let (status, summary) = match result {
            Ok(r) => (
                r.summary.status(),
                serde_json::to_value(&r.summary).unwrap_or_default(),
            ),
            Err(e) => (
                RunStatus::Error,
                serde_json::json!({ "error": e.to_string() }),
            ),
        };
        self.store.finish_run(run, status, &summary).await?;
        Ok(())
    }
}

/// `max_run_time`: a token that the engine's stop token or the cap cancels, and the timer
/// that cancels it. The executor stops between batches either way; what it did not start stays
/// pending in the journal for the next run.
struct RunCap {
    token: CancellationToken,
    limit: Option<std::time::Duration>,
    timer: Option<tokio::task::JoinHandle<()>>,
}

impl RunCap {
    fn start(stop: &CancellationToken, limit: Option<std::time::Duration>) -> Self {
        let token = stop.child_token();
        let timer = limit.map(|limit| {
            let token = token.clone();
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                tracing::warn!(
                    seconds = limit.as_secs(),
                    "The run reached max_run_time: stopping between batches."
                );
                token.cancel();
            })
        });
        Self {
            token,
            limit,
            timer,
        }
    }

    /// A target the cap (not a shutdown) stopped says so.
    fn explain(self, stop: &CancellationToken, targets: &mut [TargetSummary]) {
        if let Some(timer) = &self.timer {
            timer.abort();
        }
        let (Some(limit), false) = (self.limit, stop.is_cancelled()) else {
            return;
        };
        if !self.token.is_cancelled() {
            return;
        }
        for t in targets.iter_mut().filter(|t| t.left_pending > 0) {
            t.stopped = Some(format!(
                "stopped at the run time cap (max_run_time = {} s): {} action(s) not started are left pending in the journal; the next apply carries them out",
                limit.as_secs(),
                t.left_pending
            ));
        }
    }
}

/// How the source read compares with the previous snapshot (`None`: the first run).
pub(crate) fn source_delta(
    previous: Option<&[SnapshotPerson]>,
    persons: &[Person],
    blocked: &[BlockedRecord],
) -> SourceDelta {
    let Some(prev) = previous else {
        return SourceDelta {
            previous: None,
            valid: persons.len(),
            blocked: blocked.len(),
            added: 0,
            removed: 0,
        };
    };
    let current: HashSet<&ExternalId> = persons
        .iter()
        .map(|p| &p.external_id)
        .chain(blocked.iter().map(|b| &b.person))
        .collect();
    let before: HashSet<&ExternalId> = prev.iter().map(|p| &p.external_id).collect();
    SourceDelta {
        previous: Some(before.len()),
        valid: persons.len(),
        blocked: blocked.len(),
        added: persons
            .iter()
            .filter(|p| !before.contains(&p.external_id))
            .count(),
        removed: before.iter().filter(|id| !current.contains(*id)).count(),
    }
}

impl Prepared {
    /// The plan as saved and reported. Each target's plan is moved out of its gate, not
    /// copied; afterwards `gated` is empty, so take it only once the executor is done.
    pub fn take_plan(&mut self) -> Plan {
        Plan {
            version: Plan::VERSION,
            today: self.today,
            source_digest: self.source_digest.clone(),
            targets: std::mem::take(&mut self.gated)
                .into_iter()
                .map(GatedPlan::into_plan)
                .collect(),
        }
    }
}

/// Each target that could not be reached stops, with the reason, in the run's summary.
fn mark_unreachable(
    result: &mut Result<RunReport, EngineError>,
    unreachable: &BTreeMap<TargetName, String>,
) {
    let Ok(report) = result else {
        return;
    };
    for (target, reason) in unreachable {
        report.summary.target_mut(target).stopped = Some(format!("cannot be reached: {reason}"));
    }
}

/// `apply --plan`: the fresh plan must be the saved one.
fn check_unchanged(expected: &Plan, fresh: &Prepared) -> Result<(), EngineError> {
    if expected.version != Plan::VERSION {
        return Err(EngineError::StalePlan(format!(
            "plan format {} is not {}",
            expected.version,
            Plan::VERSION
        )));
    }
    if expected.today != fresh.today {
        return Err(EngineError::StalePlan(format!(
            "it was made for {}, today is {}",
            expected.today, fresh.today
        )));
    }
    if expected.source_digest != fresh.source_digest {
        return Err(EngineError::StalePlan(
            "the source changed since the plan was made".into(),
        ));
    }
    for t in fresh.gated.iter().map(GatedPlan::plan) {
        let Some(e) = expected.targets.iter().find(|e| e.target == t.target) else {
            return Err(EngineError::StalePlan(format!(
                "target {} is not in the saved plan",
                t.target
            )));
        };
        if e.observed_digest != t.observed_digest {
            return Err(EngineError::StalePlan(format!(
                "target {} changed since the plan was made",
                t.target
            )));
        }
        let as_json = |p: &TargetPlan| serde_json::to_value(&p.actions).unwrap_or_default();
        if as_json(e) != as_json(t) {
            return Err(EngineError::StalePlan(format!(
                "the actions for {} differ (was the configuration changed?)",
                t.target
            )));
        }
    }
    if expected.targets.len() != fresh.gated.len() {
        return Err(EngineError::StalePlan(
            "the configured targets changed".into(),
        ));
    }
    Ok(())
}

impl Engine {
    /// Approves what a threshold blocked in `run` (all of it, or one action type; a disable
    /// approval is a delete approval, as they count together). The next apply uses it.
    pub async fn approve(
        &self,
        run: &str,
        kind: Option<ActionKind>,
        by: &str,
    ) -> Result<Vec<Approval>, EngineError> {
        let record = self
            .store
            .run(run)
            .await?
            .ok_or_else(|| EngineError::UnknownRun {
                run: run.into(),
                store: self.config.store.location(),
            })?;
        match self
            .store
            .approve(&record.id, kind.map(ActionKind::threshold_group), by)
            .await
        {
            Err(e @ muster_store::StoreError::NothingToApprove { .. }) => {
                Err(EngineError::NothingToApprove(e))
            }
            other => Ok(other?),
        }
    }
}

/// What the unique values of a target are settled against.
struct EvaluationScope<'a> {
    held: &'a HashSet<ExternalId>,
    observed: &'a Observed,
    links: &'a [StoredLink],
    capabilities: &'a Capabilities,
}

/// What the target compares ignoring case (the connector's own fields and what this
/// configuration adds), and what else it can do: as the plan and the correlation index see it.
pub(crate) fn target_capabilities(t: &TargetConfig, connector: &dyn Connector) -> Capabilities {
    let mut capabilities = connector.capabilities().clone();
    capabilities
        .case_insensitive_fields
        .extend(t.case_insensitive_fields.iter().cloned());
    capabilities
}

/// A stored link as the plan sees it.
pub(crate) fn stored_link(l: muster_store::Link) -> StoredLink {
    StoredLink {
        person: l.person,
        account: l.account,
        state: match l.state {
            LinkState::Active => PlanLinkState::Active,
            LinkState::Deleted => PlanLinkState::Deleted,
        },
    }
}
