//! [`HelloIdConnector`]: the [`Connector`] for HelloID, per `targets/helloid.md` §6.
//!
//! - `read_all` reads every page of `/users`, `/users?isDeleted=true` (kept apart, in
//!   [`Observed::deleted`]), `/groups` with `/groups/{guid}` for the members, `/products` and
//!   `/product-assignment`; products are groups named `Product - <name>` with the reference
//!   `product:<productId>` (see [`super::wire::product_ref`]); `lookup_groups` reads the
//!   lists of groups (and products) without members;
//! - user writes are a fresh GET, the changes laid over it, and a PUT of the whole user
//!   (`users.rs`);
//! - memberships are one POST or DELETE each, checked by a re-read on error (`groups.rs`);
//!   products are requested through self-service and withdrawn by product (`products.rs`).
//!
//! "Not found" is a 404 **or** the text `User not found` under any status (helloid.md §4.1);
//! the shared HTTP layer is told not to retry a 5xx that says so ([`wire::final_hint`]).

use super::client::HelloIdClient;
use super::config::{DeleteMode, HelloIdConfig};
use super::user::{self, CONTACT_EMAIL, PASSWORD, USER_NAME};
use super::wire;
pub(super) use crate::common::{lock, Found};
use crate::common::{TargetErrors, Warnings};
use crate::http::settings;
use crate::http::{Auth, RequestCounters, RequestCounts};
use async_trait::async_trait;
use muster_core::connector::{
    Capabilities, Connector, ConnectorError, DeleteMeaning, Observed, ObservedAccount,
    ObservedGroup, Operation, Outcome, ReadScope,
};
use muster_core::{AccountRef, TargetName};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use tracing::{info, instrument};

/// Items asked for per page (`take`), as the public connector does.
pub const PAGE_SIZE: usize = 1000;

/// A connected HelloID tenant. Cheap to share: the group reads run on clones of the inner
/// state.
#[derive(Debug)]
pub struct HelloIdConnector {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) target: TargetName,
    pub(super) client: HelloIdClient,
    pub(super) capabilities: Capabilities,
    pub(super) delete: DeleteMode,
    pub(super) rename: user::Rename,
    pub(super) execute_return_actions: bool,
    warnings: Warnings,
    /// One write in flight per user, so two writes built on the same read cannot undo each
    /// other.
    user_locks: Mutex<HashMap<AccountRef, Arc<tokio::sync::Mutex<()>>>>,
    /// One `EnsureGroup` at a time, so two workers asking for the same missing group create
    /// it once.
    pub(super) ensure_lock: tokio::sync::Mutex<()>,
    /// Soft-deleted users of the last full read by lower-case `userName`, to name in the error
    /// when a create collides with one.
    pub(super) deleted_names: Mutex<HashMap<String, Vec<AccountRef>>>,
}

impl HelloIdConnector {
    /// Validates `cfg`, reads the key and secret and builds the HTTP client. Does not contact
    /// HelloID: refused credentials show as [`ConnectorError::Unauthorized`] on the first
    /// request.
    #[instrument(skip_all, fields(target = %name))]
    pub fn connect(name: TargetName, cfg: &HelloIdConfig) -> Result<Self, ConnectorError> {
        settings::refuse_problems(&name, cfg.validate())?;
        let key = settings::resolve(&name, "api_key", &cfg.api_key)?;
        let secret = settings::resolve(&name, "api_secret", &cfg.api_secret)?;
        let retry = cfg.http().retry_policy();
        let auth = Auth::Basic {
            // The key is a credential too; it lives only in the header value.
            username: key.expose().to_owned(),
            password: secret,
        };
        let http = cfg
            .http()
            .client(&name, auth)?
            .with_final_hint(wire::final_hint);
        let client = HelloIdClient::new(http, &cfg.api_url(), retry.max_elapsed);
        let creates_groups = cfg.creates_groups();
        info!(delete = ?cfg.delete, rename = cfg.rename_user_name, creates_groups, "HelloID target ready.");
        let mut fixed_fields = BTreeSet::new();
        if !cfg.rename_user_name {
            fixed_fields.insert(USER_NAME.to_owned());
        }
        Ok(Self {
            inner: Arc::new(Inner {
                capabilities: Capabilities {
                    delete: match cfg.delete {
                        DeleteMode::Delete => DeleteMeaning::Remove,
                        DeleteMode::Disable => DeleteMeaning::Disable,
                    },
                    write_only_fields: BTreeSet::from([PASSWORD.to_owned()]),
                    lookup: true,
                    group_lookup: true,
                    max_concurrency: cfg.concurrency,
                    fixed_fields,
                    creates_groups,
                    // Only department groups are created: a missing static group or product
                    // is a configuration mistake to report, not a group to invent.
                    created_group_prefix: cfg
                        .department_groups
                        .as_ref()
                        .map(|d| d.prefix.clone())
                        .unwrap_or_default(),
                    pending_ttl_days: Some(cfg.products.request_ttl_days),
                    rehire: cfg.rehire.into(),
                    // helloid.md §6: user names and contact addresses compare ignoring case;
                    // a case-only rename is not worth a write (and cannot be one with renames off).
                    case_insensitive_fields: BTreeSet::from([
                        USER_NAME.to_owned(),
                        CONTACT_EMAIL.to_owned(),
                    ]),
                    ..Capabilities::default()
                },
                target: name,
                client,
                delete: cfg.delete,
                rename: if cfg.rename_user_name {
                    user::Rename::Allowed
                } else {
                    user::Rename::Fixed
                },
                execute_return_actions: cfg.products.execute_return_actions,
                warnings: Warnings::default(),
                user_locks: Mutex::new(HashMap::new()),
                ensure_lock: tokio::sync::Mutex::new(()),
                deleted_names: Mutex::new(HashMap::new()),
            }),
        })
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

/// A value as one URL path segment: everything but RFC 3986 unreserved characters escaped, so
/// a `/`, `?` or `#` in a name or id cannot change the path.
pub(super) fn segment(value: &str) -> String {
    crate::scim::filter::encode_query_value(value)
}

impl Inner {
    pub(super) fn user_lock(&self, account: &AccountRef) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = lock(&self.user_locks);
        // Locks nobody holds or waits for are dropped, so the map stays as small as the
        // writes in flight.
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(account.clone()).or_default().clone()
    }

    pub(super) fn to_account(&self, user: &Value) -> Result<ObservedAccount, ConnectorError> {
        user::to_account(user).map_err(|e| self.protocol(e))
    }

    async fn execute(&self, operation: &Operation) -> Result<Outcome, ConnectorError> {
        match operation {
            Operation::Create {
                attributes,
                enabled,
            } => self.create(attributes, *enabled).await,
            Operation::Update { account, changes } => {
                match self.write_user(account, changes, None).await? {
                    Found::Yes(()) => Ok(Outcome::Done),
                    Found::Gone => Err(self.account_gone(account)),
                }
            }
            Operation::SetEnabled {
                account,
                enabled,
                changes,
            } => match self.write_user(account, changes, Some(*enabled)).await? {
                Found::Yes(()) => Ok(Outcome::Done),
                Found::Gone if !enabled => Ok(Outcome::AlreadyAbsent),
                Found::Gone => Err(self.account_gone(account)),
            },
            Operation::Delete { account, changes } => match self.delete {
                DeleteMode::Disable => {
                    match self.write_user(account, changes, Some(false)).await? {
                        Found::Yes(()) => Ok(Outcome::Done),
                        Found::Gone => Ok(Outcome::AlreadyAbsent),
                    }
                }
                // The account goes; changes meant for it before it goes have nowhere to land.
                DeleteMode::Delete => self.remove_user(account).await,
            },
            Operation::Grant { account, group } => match wire::product_id(group.as_str()) {
                Some(product) => self.grant_product(account, group, product).await,
                None => self.change_membership(account, group, true).await,
            },
            Operation::Revoke { account, group } => match wire::product_id(group.as_str()) {
                Some(product) => self.revoke_product(account, group, product).await,
                None => self.change_membership(account, group, false).await,
            },
            Operation::EnsureGroup { name } if self.capabilities.may_create_group(name) => {
                self.ensure_group(name).await
            }
            Operation::EnsureGroup { .. } => {
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
impl Connector for HelloIdConnector {
    fn target(&self) -> &TargetName {
        &self.inner.target
    }

    fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.all()
    }

    /// Users, deleted users, groups and products are read side by side; any of them failing
    /// fails the read.
    #[instrument(skip_all, fields(target = %self.inner.target))]
    async fn read_all(&self) -> Result<Observed, ConnectorError> {
        self.read_scoped(&ReadScope::default()).await
    }

    async fn read_scoped(&self, scope: &ReadScope) -> Result<Observed, ConnectorError> {
        let inner = &self.inner;
        let (accounts, deleted, mut groups, products) = tokio::try_join!(
            inner.read_users(false),
            inner.read_users(true),
            Inner::read_groups(inner.clone(), scope),
            inner.read_products(),
        )?;
        inner.remember_deleted(&deleted);
        info!(
            accounts = accounts.len(),
            deleted = deleted.len(),
            groups = groups.len(),
            products = products.len(),
            "Read the target."
        );
        groups.extend(products);
        Ok(Observed {
            accounts,
            groups,
            deleted,
        })
    }

    async fn lookup(
        &self,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<ObservedAccount>, ConnectorError> {
        self.inner.lookup(attribute, value).await
    }

    async fn lookup_groups(&self, names: &[String]) -> Result<Vec<ObservedGroup>, ConnectorError> {
        self.inner.lookup_groups(names).await
    }

    async fn execute(&self, operation: &Operation) -> Result<Outcome, ConnectorError> {
        self.inner.execute(operation).await
    }
}
