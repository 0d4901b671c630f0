//! [`ZermeloConnector`]: the [`Connector`] for Zermelo, per `targets/zermelo.md` §6.
//!
//! - accounts are users, referenced and correlated by `code` (the student number); `enabled`
//!   is `!archived`, and there is no enabled flag to write (`can_disable: false`);
//! - a Delete archives (`archived: true`), the account stays and the link is kept; an Enable
//!   brings an archived user back;
//! - groups are classes (DepartmentOfBranch), one per school and school year, referenced by
//!   `id` and named `<code> / <schoolInSchoolYearName>`; a Grant is a class placement;
//! - one placement per school year (`one_per_period`): after a class change the previous
//!   placement of that year is kept and the plan says so (`previous_class = "keep"`), or a
//!   Revoke deletes it (`"delete"`); last year's placements are never touched;
//! - placements are fully visible only with `read_placements` (`membership_visible`);
//!   otherwise the read takes them from the student records of the persons' students, and the
//!   engine adds the ones Muster made, from its store.
//!
//! The requests live in `read.rs` (full read, look-up), `users.rs` and `placements.rs`.

use super::client::ZermeloClient;
use super::config::{PreviousClass, ZermeloConfig};
use crate::common::{TargetErrors, Warnings};
use crate::http::settings;
use crate::http::{Auth, RequestCounters, RequestCounts};
use async_trait::async_trait;
use muster_core::connector::{
    Capabilities, Connector, ConnectorError, DeleteMeaning, Observed, ObservedAccount,
    ObservedGroup, Operation, Outcome, PreviousGroup, ReadScope,
};
use muster_core::TargetName;
use std::sync::Arc;
use tracing::{info, instrument};

// The full read is one request per endpoint: Zermelo's lists are not paged (zermelo.md §1).

/// A connected Zermelo portal. Cheap to share: the inner state goes to the workers that read
/// placements.
#[derive(Debug)]
pub struct ZermeloConnector {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) target: TargetName,
    pub(super) client: ZermeloClient,
    pub(super) capabilities: Capabilities,
    pub(super) participation_weight: f64,
    pub(super) read_placements: bool,
    pub(super) previous_class: PreviousClass,
    warnings: Warnings,
}

impl ZermeloConnector {
    /// Validates `cfg`, reads the token and builds the HTTP client. Does not contact Zermelo:
    /// a refused token shows as [`ConnectorError::Unauthorized`] on the first request.
    #[instrument(skip_all, fields(target = %name))]
    pub fn connect(name: TargetName, cfg: &ZermeloConfig) -> Result<Self, ConnectorError> {
        settings::refuse_problems(&name, cfg.validate())?;
        let token = settings::resolve(&name, "token", &cfg.token)?;
        let retry = cfg.http().retry_policy();
        let http = cfg.http().client(&name, Auth::Bearer(token))?;
        let client = ZermeloClient::new(http, &cfg.api_url(), retry.max_elapsed);
        info!(
            read_placements = cfg.read_placements,
            participation_weight = cfg.participation_weight,
            "Zermelo target ready."
        );
        Ok(Self {
            inner: Arc::new(Inner {
                capabilities: Capabilities {
                    delete: DeleteMeaning::Disable,
                    lookup: true,
                    group_lookup: true,
                    max_concurrency: cfg.concurrency,
                    can_disable: false,
                    membership_visible: cfg.read_placements,
                    one_per_period: Some(previous_group(cfg.previous_class)),
                    ..Capabilities::default()
                },
                target: name,
                client,
                participation_weight: cfg.participation_weight,
                read_placements: cfg.read_placements,
                previous_class: cfg.previous_class,
                warnings: Warnings::default(),
            }),
        })
    }

    /// Things the run report should mention (placements in classes the read did not list).
    pub fn warnings(&self) -> Vec<String> {
        self.inner.warnings.all()
    }

    /// Requests sent so far, by method (every attempt, retries and 429s included).
    pub fn request_counts(&self) -> RequestCounts {
        self.inner.client.http().counters().snapshot()
    }

    /// The live request counters, for benchmarks that sample during a run.
    pub fn request_counters(&self) -> Arc<RequestCounters> {
        self.inner.client.http().counters()
    }

    /// The rate budget its requests draw from (shared), for the server's metrics.
    pub fn rate_bucket(&self) -> Arc<crate::http::rate::TokenBucket> {
        self.inner.client.http().bucket()
    }
}

/// Why a previous placement stays under `keep`, as the plan says it on each Grant.
pub const KEPT_BECAUSE: &str = "previous_class = \"keep\": no public Zermelo client ends a \
     placement, so this tenant is not known to allow it; the student stays placed in both";

/// What a class change does with the previous placement of that school year.
fn previous_group(previous: PreviousClass) -> PreviousGroup {
    match previous {
        PreviousClass::Keep => PreviousGroup::Keep {
            because: KEPT_BECAUSE.to_owned(),
        },
        PreviousClass::Delete => PreviousGroup::Revoke,
    }
}

impl Inner {
    pub(super) fn incomplete(&self, detail: String) -> ConnectorError {
        ConnectorError::IncompleteRead {
            target: self.target.clone(),
            detail,
        }
    }

    async fn execute(&self, operation: &Operation) -> Result<Outcome, ConnectorError> {
        match operation {
            Operation::Create {
                attributes,
                enabled,
            } => self.create(attributes, *enabled).await,
            Operation::Update { account, changes } => self.update(account, changes, None).await,
            // No enabled flag: an Enable brings back an archived user, a Disable archives.
            Operation::SetEnabled {
                account,
                enabled: true,
                changes,
            } => self.update(account, changes, Some(false)).await,
            Operation::SetEnabled {
                account,
                enabled: false,
                changes,
            }
            | Operation::Delete { account, changes } => self.archive(account, changes).await,
            Operation::Grant { account, group } => self.grant(account, group).await,
            // Only `previous_class = "delete"` ends placements (zermelo.md §6).
            Operation::Revoke { account, group }
                if self.previous_class == PreviousClass::Delete =>
            {
                self.revoke(account, group).await
            }
            Operation::Revoke { .. } | Operation::EnsureGroup { .. } => {
                Err(ConnectorError::unsupported(&self.target, operation))
            }
        }
    }
}

impl TargetErrors for Inner {
    fn target_name(&self) -> &TargetName {
        &self.target
    }
}

impl Inner {
    pub(super) fn warn(&self, message: String) {
        self.warnings.add(message);
    }
}

#[async_trait]
impl Connector for ZermeloConnector {
    fn target(&self) -> &TargetName {
        &self.inner.target
    }

    fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    fn warnings(&self) -> Vec<String> {
        ZermeloConnector::warnings(self)
    }

    #[instrument(skip_all, fields(target = %self.inner.target))]
    async fn read_all(&self) -> Result<Observed, ConnectorError> {
        Inner::read_all(&self.inner, None).await
    }

    #[instrument(skip_all, fields(target = %self.inner.target))]
    async fn read_scoped(&self, scope: &ReadScope) -> Result<Observed, ConnectorError> {
        Inner::read_all(&self.inner, Some(scope)).await
    }

    #[instrument(skip_all, fields(target = %self.inner.target, attribute))]
    async fn lookup(
        &self,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<ObservedAccount>, ConnectorError> {
        self.inner.lookup(attribute, value).await
    }

    #[instrument(skip_all, fields(target = %self.inner.target))]
    async fn lookup_groups(&self, names: &[String]) -> Result<Vec<ObservedGroup>, ConnectorError> {
        self.inner.lookup_groups(names).await
    }

    #[instrument(skip_all, fields(target = %self.inner.target))]
    async fn execute(&self, operation: &Operation) -> Result<Outcome, ConnectorError> {
        self.inner.execute(operation).await
    }
}
