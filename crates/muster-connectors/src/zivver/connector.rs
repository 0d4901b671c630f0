//! [`ZivverConnector`]: the [`Connector`] for Zivver, per `targets/zivver.md` §5.
//!
//! - `read_all` reads `Users` and `Groups` in full (paging tolerated, not assumed), and a
//!   group's `Groups/{id}` when the list leaves its members out; `lookup_groups` matches the
//!   list of `Groups` by name;
//! - every user write is a fresh `GET Users/{id}`, the operation's attributes laid over it,
//!   and a `PUT` of the whole user, never a partial one;
//! - memberships go through per-group lanes (see [`super::lanes`] and `groups.rs`), or one
//!   PATCH per change in `add-remove` mode;
//! - 400 on a read by id means "gone" (Zivver does not answer 404); 400 on a write is
//!   Zivver's validation text, returned as it is and never retried.
//!
//! **`SsoAccountKey` is the engine's to carry.** Zivver never returns it and clears it when a
//! PUT leaves it out, so the connector cannot put back what it read. It sends the key when the
//! operation carries one (the engine resends the unchanged key with every write, see
//! `Action::resend`), and otherwise PUTs without it. Whether the target uses SSO at all is a
//! property of the mapping, which the connector cannot see: refusing a write that carries no
//! key (zivver.md §5, "SsoAccountKey unknown; a PUT now would break SSO") is decided where
//! the mapping is known, before the operation reaches the connector.

use super::client::{Failure, Reply, ZivverClient};
use super::config::{DeleteMode, FunctionalAccounts, MembershipWrite, ZivverConfig};
use super::functional::Directory;
use super::functional_wire::{self as fw, AccountKind};
use super::lanes::Lanes;
use super::user;
use super::wire::{self, ALIASES, DELEGATES, SSO_ACCOUNT_KEY};
pub(super) use crate::common::{lock, Found};
use crate::common::{TargetErrors, Warnings};
use crate::http::rate::TokenBucket;
use crate::http::settings;
use crate::http::Refused as _;
use crate::http::{Auth, Method, RequestCounters, RequestCounts};
use async_trait::async_trait;
use muster_core::connector::{
    Attributes, Capabilities, Connector, ConnectorError, DeleteMeaning, FieldRefusal, Observed,
    ObservedAccount, ObservedGroup, Operation, Outcome,
};
use muster_core::secret::Secret;
use muster_core::{AccountRef, TargetName};
use serde_json::{Map, Value};
use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tracing::{debug, info, instrument};

/// Resources asked for per page of a full read. Zivver is not known to page at all.
pub const PAGE_SIZE: usize = 100;

/// A connected Zivver organisation. Cheap to share: clones of the inner state go to the
/// per-group lane workers.
#[derive(Debug)]
pub struct ZivverConnector {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) target: TargetName,
    pub(super) client: ZivverClient,
    pub(super) capabilities: Capabilities,
    delete: DeleteMode,
    rename_suffix: Option<String>,
    pub(super) membership: MembershipWrite,
    /// Functional accounts as permissions (groups) or as accounts.
    pub(super) functional: FunctionalAccounts,
    /// Users and account kinds as last seen (see `functional.rs`).
    pub(super) directory: Mutex<Directory>,
    warnings: Warnings,
    /// One write in flight per user, so two writes built on the same read cannot undo each
    /// other.
    user_locks: Mutex<HashMap<AccountRef, Arc<tokio::sync::Mutex<()>>>>,
    pub(super) lanes: Lanes,
}

impl ZivverConnector {
    /// Validates `cfg`, reads the token and builds the HTTP client. Does not contact Zivver: a
    /// refused key shows as [`ConnectorError::Unauthorized`] on the first request.
    ///
    /// Clients on the same API URL and key share one token bucket, so two targets (or two
    /// runs in one process) on one key stay within its budget together.
    #[instrument(skip_all, fields(target = %name))]
    pub fn connect(name: TargetName, cfg: &ZivverConfig) -> Result<Self, ConnectorError> {
        settings::refuse_problems(&name, cfg.validate())?;
        let token = settings::resolve(&name, "token", &cfg.token)?;
        let http_settings = cfg.http();
        let api_url = cfg.api_url();
        let bucket = shared_bucket(
            &api_url,
            &token,
            cfg.rate_limit.requests,
            http_settings.per(),
        );
        let retry = http_settings.retry_policy();
        let http = http_settings
            .client(&name, Auth::Bearer(token))?
            .with_throttle_hint(wire::throttle_hint)
            .with_bucket(bucket);
        let client = ZivverClient::new(http, &api_url, retry.max_elapsed);
        info!(
            delete = ?cfg.delete,
            membership = ?cfg.membership,
            functional_accounts = ?cfg.functional_accounts,
            "Zivver target ready."
        );
        let accounts = cfg.functional_accounts == FunctionalAccounts::Accounts;
        let when_accounts = |fields: &[&str]| -> BTreeSet<String> {
            if accounts {
                fields.iter().map(|f| (*f).to_owned()).collect()
            } else {
                BTreeSet::new()
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                capabilities: Capabilities {
                    delete: match cfg.delete {
                        DeleteMode::Disable => DeleteMeaning::Disable,
                        DeleteMode::Hard => DeleteMeaning::Remove,
                    },
                    write_only_fields: BTreeSet::from([SSO_ACCOUNT_KEY.to_owned()]),
                    lookup: true,
                    group_lookup: true,
                    max_concurrency: cfg.concurrency,
                    // The address already received mail as a Zivver guest: sending the same
                    // aliases again is refused again.
                    refusals: vec![FieldRefusal {
                        field: crate::zivver::wire::ALIASES.to_owned(),
                        detail_contains: "Alias is a guest".to_owned(),
                    }],
                    // A suspended functional account has no members to show as delegates.
                    hidden_while_disabled: when_accounts(&[DELEGATES]),
                    case_insensitive_fields: when_accounts(&[wire::USER_NAME, ALIASES, DELEGATES]),
                    ..Capabilities::default()
                },
                target: name,
                client,
                delete: cfg.delete,
                rename_suffix: cfg.delete_rename_suffix.clone(),
                membership: cfg.membership,
                functional: cfg.functional_accounts,
                directory: Mutex::new(Directory::default()),
                warnings: Warnings::default(),
                user_locks: Mutex::new(HashMap::new()),
                lanes: Lanes::default(),
            }),
        })
    }

    /// Things the run report should mention: delegates Zivver did not store.
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

/// The token bucket of one API key on one API URL, shared by every client in the process
/// that uses them. Keys are held as a keyed hash (random per process), never as text.
fn shared_bucket(api_url: &str, token: &Secret, requests: u32, per: Duration) -> Arc<TokenBucket> {
    struct Registry {
        hasher: RandomState,
        buckets: HashMap<(String, u64), Weak<TokenBucket>>,
    }
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    let registry = REGISTRY.get_or_init(|| {
        Mutex::new(Registry {
            hasher: RandomState::new(),
            buckets: HashMap::new(),
        })
    });
    let mut r = lock(registry);
    let key = (
        api_url.trim_end_matches('/').to_ascii_lowercase(),
        r.hasher.hash_one(token.expose()),
    );
    if let Some(bucket) = r.buckets.get(&key).and_then(Weak::upgrade) {
        debug!("Sharing the rate budget of another client on this API key.");
        return bucket;
    }
    r.buckets.retain(|_, b| b.strong_count() > 0);
    let bucket = Arc::new(TokenBucket::paced(requests, per));
    r.buckets.insert(key, Arc::downgrade(&bucket));
    bucket
}

/// A resource id as one URL path segment.
pub(super) fn segment(id: &str) -> String {
    crate::scim::filter::encode_query_value(id)
}

impl Inner {
    pub(super) fn user_lock(&self, account: &AccountRef) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = lock(&self.user_locks);
        // Locks nobody holds or waits for are dropped, so the map stays as small as the
        // writes in flight.
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(account.clone()).or_default().clone()
    }

    /// A user as an account; with functional accounts as accounts, marked `kind = "user"`.
    pub(super) fn to_account(&self, user: &Value) -> Result<ObservedAccount, ConnectorError> {
        let mut account = user::to_account(user).map_err(|e| self.protocol(e))?;
        if self.accounts_mode() {
            account
                .attributes
                .insert(fw::KIND.to_owned(), Value::from(AccountKind::User.word()));
        }
        Ok(account)
    }

    // ----- users ---------------------------------------------------------------------------

    /// POST `Users` with real booleans, all three schemas, both extension objects and the
    /// `SsoAccountKey` when the operation carries one.
    #[instrument(skip_all, fields(target = %self.target))]
    async fn create(
        &self,
        attributes: &Attributes,
        enabled: bool,
    ) -> Result<Outcome, ConnectorError> {
        // A new account has nothing to clear.
        let set: Attributes = attributes
            .iter()
            .filter(|(k, v)| !v.is_null() && k.as_str() != fw::KIND)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut body = Map::new();
        user::overlay(&mut body, &set).map_err(|e| self.config_error(e))?;
        user::complete(&mut body, Some(enabled)).map_err(|e| self.config_error(e))?;
        let sent_delegates = user::delegates(&body);
        let uncertain = |detail: String| ConnectorError::Uncertain {
            target: self.target.clone(),
            method: "POST".to_owned(),
            path: "/Users".to_owned(),
            detail,
        };
        match self
            .client
            .call(Method::POST, "/Users", Some(&Value::Object(body)))
            .await
        {
            Ok(Reply {
                body: Some(created),
                ..
            }) if wire::resource_id(&created).is_some() => {
                let account = self.to_account(&created)?;
                if let Value::Object(stored) = &created {
                    self.check_delegates(&account.reference, stored, &sent_delegates);
                }
                self.remember_user(&account);
                Ok(Outcome::Created(account))
            }
            // Created, probably, but Muster cannot link what it cannot name: the engine
            // looks the account up, as after a timeout.
            Ok(reply) => Err(uncertain(format!(
                "answered {} without the new user's `id`",
                reply.status
            ))),
            Err(Failure::Error(ConnectorError::Protocol { detail, .. })) => Err(uncertain(detail)),
            // Zivver's status for a duplicate userName is not documented: 409, or 400 with a
            // text saying so. The engine looks the account up and correlates it.
            Err(Failure::Refused(r)) if wire::is_duplicate_user(r.status, &r.detail) => {
                Err(ConnectorError::Conflict {
                    target: self.target.clone(),
                    detail: r.detail,
                })
            }
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// Fresh GET, overlay, whole-object PUT (zivver.md §4.3). `enabled` sets `active`;
    /// `rename` appends the delete suffix to `name.formatted`.
    #[instrument(skip_all, fields(target = %self.target, account = %account))]
    async fn write_user(
        &self,
        account: &AccountRef,
        changes: &Attributes,
        enabled: Option<bool>,
        rename: Option<&str>,
    ) -> Result<Found<()>, ConnectorError> {
        let lock = self.user_lock(account);
        let _one_write = lock.lock().await;
        let url = format!("/Users/{}", segment(account.as_str()));
        let current = match self.fetch_user(&url).await? {
            Found::Yes(user) => user,
            Found::Gone => return Ok(Found::Gone),
        };
        let mut base = current;
        user::complete(&mut base, None).map_err(|e| self.protocol(format!("GET {url}: {e}")))?;
        let mut body = base.clone();
        let changes: Attributes = changes
            .iter()
            .filter(|(k, _)| k.as_str() != fw::KIND)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        user::overlay(&mut body, &changes).map_err(|e| self.config_error(e))?;
        user::complete(&mut body, enabled).map_err(|e| self.config_error(e))?;
        if let Some(suffix) = rename {
            user::append_suffix(&mut body, suffix);
        }
        if body == base {
            // Nothing to change, and no key to send (Zivver never returns one, so a body with
            // a key always differs from the read).
            debug!("User already as asked; no PUT.");
            return Ok(Found::Yes(()));
        }
        if !user::carries_sso_key(&body) {
            debug!("PUT without SsoAccountKey: the operation carries none.");
        }
        let sent_delegates = user::delegates(&body);
        let answered = match self
            .client
            .call(Method::PUT, &url, Some(&Value::Object(body)))
            .await
        {
            Ok(reply) => reply.body,
            // A 2xx whose body is not JSON: the PUT was taken all the same.
            Err(Failure::Error(ConnectorError::Protocol { .. })) => None,
            // Deleted between the read and the write.
            Err(Failure::Refused(r))
                if r.status == 400
                    && wire::unknown_account(&r.detail)
                        .is_some_and(|id| id.eq_ignore_ascii_case(account.as_str())) =>
            {
                return Ok(Found::Gone);
            }
            // Validation ("Invalid division: Sales", "Error creating alias: …"): Zivver's
            // text, not retried.
            Err(f) => return Err(f.into_error(&self.target)),
        };
        if !sent_delegates.is_empty() {
            let stored = match answered {
                Some(Value::Object(stored)) if stored.contains_key("id") => Some(stored),
                // No user in the answer: read it back to see what was stored.
                _ => match self.fetch_user(&url).await {
                    Ok(Found::Yes(stored)) => Some(stored),
                    _ => None,
                },
            };
            if let Some(stored) = stored {
                self.check_delegates(account, &stored, &sent_delegates);
            }
        }
        Ok(Found::Yes(()))
    }

    /// `GET Users/{id}`. Zivver answers **400**, not 404, for an unknown or deleted id
    /// (zivver.md §4.1), and every public client reads it as "not found".
    pub(super) async fn fetch_user(
        &self,
        url: &str,
    ) -> Result<Found<Map<String, Value>>, ConnectorError> {
        match self.client.call(Method::GET, url, None).await {
            Ok(Reply {
                body: Some(Value::Object(user)),
                ..
            }) => Ok(Found::Yes(user)),
            Ok(_) => Err(self.protocol(format!("GET {url}: the answer is not a user"))),
            Err(Failure::Refused(r)) if r.status == 400 => Ok(Found::Gone),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// Reports delegates that were sent and not stored: Zivver drops an address that is not
    /// one of its accounts without saying so (zivver.md §2).
    fn check_delegates(&self, account: &AccountRef, stored: &Map<String, Value>, sent: &[String]) {
        if sent.is_empty() {
            return;
        }
        let kept = user::delegates(stored);
        let name = stored
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for address in user::dropped_delegates(sent, &kept) {
            debug!(account = %account, "Zivver did not store a delegate.");
            self.warn(format!(
                "{}: account {account} ({name}): delegate {address} was skipped: it is not a \
                 Zivver account, and Zivver did not store it",
                self.target
            ));
        }
    }

    /// `DELETE Users/{id}` (irreversible).
    #[instrument(skip_all, fields(target = %self.target, account = %account))]
    async fn remove_user(&self, account: &AccountRef) -> Result<Outcome, ConnectorError> {
        let url = format!("/Users/{}", segment(account.as_str()));
        match self.client.call(Method::DELETE, &url, None).await {
            Ok(_) => Ok(Outcome::Done),
            Err(Failure::Refused(r)) if r.status == 400 => {
                if wire::unknown_account(&r.detail)
                    .is_some_and(|id| id.eq_ignore_ascii_case(account.as_str()))
                {
                    return Ok(Outcome::AlreadyAbsent);
                }
                // Some other refusal, or the same in other words: a read by id tells.
                match self.fetch_user(&url).await? {
                    Found::Gone => Ok(Outcome::AlreadyAbsent),
                    Found::Yes(_) => Err(r.rejected(&self.target)),
                }
            }
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    async fn execute(self: &Arc<Self>, operation: &Operation) -> Result<Outcome, ConnectorError> {
        match operation {
            Operation::Create {
                attributes,
                enabled,
            } => {
                let kind = AccountKind::asked(attributes).map_err(|e| self.config_error(e))?;
                match (kind, self.accounts_mode()) {
                    (AccountKind::User, _) => self.create(attributes, *enabled).await,
                    (AccountKind::Functional, true) => {
                        self.create_functional(attributes, *enabled).await
                    }
                    (AccountKind::Functional, false) => Err(self.config_error(
                        "kind = \"functional\" needs functional_accounts = \"accounts\"".to_owned(),
                    )),
                }
            }
            Operation::Update { account, changes } => {
                match self.write_account(account, changes, None, None).await? {
                    Found::Yes(()) => Ok(Outcome::Done),
                    Found::Gone => Err(self.account_gone(account)),
                }
            }
            Operation::SetEnabled {
                account,
                enabled,
                changes,
            } => match self
                .write_account(account, changes, Some(*enabled), None)
                .await?
            {
                Found::Yes(()) => Ok(Outcome::Done),
                Found::Gone if !enabled => Ok(Outcome::AlreadyAbsent),
                Found::Gone => Err(self.account_gone(account)),
            },
            Operation::Delete { account, changes } => match self.delete {
                DeleteMode::Disable => {
                    let rename = self.rename_suffix.as_deref();
                    match self
                        .write_account(account, changes, Some(false), rename)
                        .await?
                    {
                        Found::Yes(()) => Ok(Outcome::Done),
                        Found::Gone => Ok(Outcome::AlreadyAbsent),
                    }
                }
                // The account goes; changes meant for it before it goes have nowhere to land.
                DeleteMode::Hard => match self.kind_of(account).await? {
                    Some(AccountKind::Functional) => Err(self.config_error(format!(
                        "functional account {account}: Zivver's API has no delete for a \
                         functional account; use delete = \"disable\" to suspend it"
                    ))),
                    _ => self.remove_user(account).await,
                },
            },
            Operation::Grant { .. } | Operation::Revoke { .. } if self.accounts_mode() => Err(self
                .config_error(
                    "functional_accounts = \"accounts\": functional accounts are accounts \
                     (their members are `delegates`), not permissions to grant"
                        .to_owned(),
                )),
            Operation::Grant { account, group } => {
                self.change_membership(account, group, true).await
            }
            Operation::Revoke { account, group } => {
                self.change_membership(account, group, false).await
            }
            Operation::EnsureGroup { .. } => {
                Err(ConnectorError::unsupported(&self.target, operation))
            }
        }
    }

    /// A write to an existing account, sent to `/Users` or `/Groups` by what the account is;
    /// `rename` (the delete suffix) applies to users only.
    async fn write_account(
        &self,
        account: &AccountRef,
        changes: &Attributes,
        enabled: Option<bool>,
        rename: Option<&str>,
    ) -> Result<Found<()>, ConnectorError> {
        let Some(kind) = self.kind_of(account).await? else {
            return Ok(Found::Gone);
        };
        self.check_kind(account, kind, changes)?;
        match kind {
            AccountKind::User => self.write_user(account, changes, enabled, rename).await,
            AccountKind::Functional => self.write_functional(account, changes, enabled).await,
        }
    }

    /// Accounts whose `attribute` equals `value`, ignoring case. `userName` is looked up with
    /// Zivver's one known filter; any other attribute by a full read of `Users`. Results whose
    /// own value differs are dropped, so a server that ignores the filter yields no false
    /// match.
    #[instrument(skip_all, fields(target = %self.target, attribute))]
    async fn lookup(
        &self,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<ObservedAccount>, ConnectorError> {
        let by_name = attribute.eq_ignore_ascii_case(wire::USER_NAME);
        let users = if by_name {
            let filter = format!(
                "{} eq {}",
                wire::USER_NAME,
                crate::scim::filter::quote(value)
            );
            self.client.list("Users", Some(&filter), PAGE_SIZE).await?
        } else {
            self.client.list("Users", None, PAGE_SIZE).await?
        };
        let wanted = value.to_lowercase();
        let mut found = Vec::new();
        if self.accounts_mode() {
            found.extend(self.lookup_functional(attribute, value).await?);
        }
        for u in &users {
            let account = self.to_account(u)?;
            let key = if by_name { wire::USER_NAME } else { attribute };
            let matches = account
                .attributes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .and_then(|(_, v)| v.as_str())
                .is_some_and(|s| s.to_lowercase() == wanted);
            if matches {
                found.push(account);
            }
        }
        Ok(found)
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
impl Connector for ZivverConnector {
    fn target(&self) -> &TargetName {
        &self.inner.target
    }

    fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    fn warnings(&self) -> Vec<String> {
        ZivverConnector::warnings(self)
    }

    #[instrument(skip_all, fields(target = %self.inner.target))]
    async fn read_all(&self) -> Result<Observed, ConnectorError> {
        let inner = &self.inner;
        let users = inner.client.list("Users", None, PAGE_SIZE).await?;
        let mut accounts = users
            .iter()
            .map(|u| inner.to_account(u))
            .collect::<Result<Vec<_>, _>>()?;
        inner.remember_users(&accounts);
        let groups = if inner.accounts_mode() {
            // Functional accounts are accounts here, not groups to grant.
            accounts.extend(inner.read_functional().await?);
            Vec::new()
        } else {
            inner.read_groups().await?
        };
        info!(
            accounts = accounts.len(),
            groups = groups.len(),
            "Read the target."
        );
        Ok(Observed {
            accounts,
            groups,
            deleted: Vec::new(),
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
