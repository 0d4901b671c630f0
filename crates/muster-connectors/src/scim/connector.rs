//! [`ScimConnector`]: the [`Connector`] for any SCIM 2.0 service, per `targets/scim.md`.
//!
//! `connect` learns what the server can do (`/ServiceProviderConfig`, overridden by config);
//! `read_all` pages through `/Users` and `/Groups`; `lookup` and `lookup_groups` filter them
//! (`<attribute> eq "…"`; `displayName eq "…"` without members); `execute` turns one
//! [`Operation`] into the fewest requests the server allows: PATCH when it has it, otherwise a
//! fresh GET and a PUT of the whole resource, one write in flight per object.

use super::client::{Failure, Reply, ScimClient};
use super::config::{DeleteMode, ScimAuth, ScimConfig, ScimFeatures};
use super::filter::eq_filter;
use super::path::{self, AttrPath};
use super::wire::{self, ServiceProviderConfig, CORE_USER_SCHEMA};
use crate::common::{Found, TargetErrors, Warnings};
use crate::http::settings;
use crate::http::{Auth, Method, RequestCounters, RequestCounts};
use async_trait::async_trait;
use muster_core::connector::{
    group_key, groups_named, Attributes, Capabilities, Connector, ConnectorError, DeleteMeaning,
    Observed, ObservedAccount, ObservedGroup, Operation, Outcome,
};
use muster_core::{AccountRef, GroupRef, TargetName};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tracing::{debug, info, instrument, warn};

/// A connected SCIM 2.0 target.
#[derive(Debug)]
pub struct ScimConnector {
    target: TargetName,
    client: ScimClient,
    capabilities: Capabilities,
    patch: AtomicBool,
    filter: bool,
    /// Items per page of a list (`count`), capped by the server's `maxResults`.
    page_size: usize,
    etag: bool,
    max_results: Option<usize>,
    delete: DeleteMode,
    warnings: Warnings,
    /// One write in flight per object on the GET + PUT path (`Users/<id>`, `Groups/<id>`).
    lanes: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ScimConnector {
    /// Resolves the secrets, builds the HTTP client and reads `/ServiceProviderConfig`
    /// (a server without it gets the defaults of `targets/scim.md` §1); capability overrides
    /// from `cfg` win over what the server announces.
    #[instrument(skip_all, fields(target = %name))]
    pub async fn connect(name: TargetName, cfg: &ScimConfig) -> Result<Self, ConnectorError> {
        settings::refuse_problems(&name, cfg.validate())?;
        let auth = match &cfg.auth {
            ScimAuth::Bearer(token) => {
                Auth::Bearer(settings::resolve(&name, "auth.bearer", token)?)
            }
            ScimAuth::Basic { username, password } => Auth::Basic {
                username: username.clone(),
                password: settings::resolve(&name, "auth.basic.password", password)?,
            },
        };
        let http = cfg.http().client(&name, auth)?;
        let client = ScimClient::new(http, &cfg.base_url);

        let announced = match client
            .call(Method::GET, "/ServiceProviderConfig", None, None)
            .await
        {
            Ok(Reply {
                body: Some(body), ..
            }) => {
                let spc: ServiceProviderConfig =
                    serde_json::from_value(body).map_err(|e| ConnectorError::Protocol {
                        target: name.clone(),
                        detail: format!("/ServiceProviderConfig is not one: {e}"),
                    })?;
                ScimFeatures::from_spc(&spc)
            }
            Ok(Reply { body: None, .. }) => ScimFeatures::WITHOUT_DISCOVERY,
            // No such endpoint (404, or 501 from servers that route it nowhere).
            Err(Failure::Refused(r)) if r.status == 404 || r.status == 501 => {
                info!(
                    status = r.status,
                    "No /ServiceProviderConfig; assuming filter support, no PATCH, no ETags."
                );
                ScimFeatures::WITHOUT_DISCOVERY
            }
            Err(f) => return Err(f.into_error(&name)),
        };
        let features = announced.overridden(cfg);
        let page_size = features
            .max_results
            .map_or(cfg.page_size, |m| cfg.page_size.min(m))
            .max(1);
        info!(
            patch = features.patch,
            filter = features.filter,
            etag = features.etag,
            page_size,
            "Connected."
        );
        Ok(Self {
            capabilities: Capabilities {
                delete: match cfg.delete {
                    DeleteMode::Disable => DeleteMeaning::Disable,
                    DeleteMode::Delete => DeleteMeaning::Remove,
                },
                // RFC 7643: `password` is `returned: never`.
                write_only_fields: BTreeSet::from(["password".to_owned()]),
                lookup: features.filter,
                group_lookup: features.filter,
                max_concurrency: cfg.concurrency,
                ..Capabilities::default()
            },
            target: name,
            client,
            patch: AtomicBool::new(features.patch),
            filter: features.filter,
            page_size,
            etag: features.etag,
            max_results: features.max_results,
            delete: cfg.delete,
            warnings: Warnings::default(),
            lanes: Mutex::new(HashMap::new()),
        })
    }

    /// What the connector uses now (PATCH may have been demoted during the run).
    pub fn features(&self) -> ScimFeatures {
        ScimFeatures {
            patch: self.patch.load(Ordering::Relaxed),
            filter: self.filter,
            etag: self.etag,
            max_results: self.max_results,
        }
    }

    /// Things the run report should mention (a capability demoted mid-run).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.all()
    }

    /// Requests sent so far, by method.
    pub fn request_counts(&self) -> RequestCounts {
        self.client.http().counters().snapshot()
    }

    /// The live request counters, for benchmarks that sample during a run.
    pub fn request_counters(&self) -> Arc<RequestCounters> {
        self.client.http().counters()
    }

    /// The rate budget its requests draw from (shared), for the server's metrics.
    pub fn rate_bucket(&self) -> Arc<crate::http::rate::TokenBucket> {
        self.client.http().bucket()
    }

    fn uses_patch(&self) -> bool {
        self.patch.load(Ordering::Relaxed)
    }

    /// A PATCH answered 501: the server does not have it, whatever it announced.
    fn demote_patch(&self, path: &str) {
        if self.patch.swap(false, Ordering::Relaxed) {
            let message = format!(
                "{}: PATCH {path} answered 501 Not Implemented although the server announces PATCH; \
                 using GET + PUT for the rest of the run (set `capabilities = {{ patch = false }}`)",
                self.target
            );
            warn!(target = %self.target, "PATCH not implemented; demoted to PUT for this run.");
            self.warnings.add(message);
        }
    }

    fn lane(&self, key: String) -> Arc<tokio::sync::Mutex<()>> {
        self.lanes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone()
    }

    fn parse_paths<'a>(
        &self,
        attributes: &'a Attributes,
    ) -> Result<Vec<(AttrPath, &'a Value)>, ConnectorError> {
        attributes
            .iter()
            .map(|(p, v)| {
                AttrPath::parse(p)
                    .map(|path| (path, v))
                    .map_err(|e| self.config_error(e))
            })
            .collect()
    }

    fn to_account(&self, user: &Value) -> Result<ObservedAccount, ConnectorError> {
        let id = wire::resource_id(user)
            .ok_or_else(|| self.protocol("a user without `id`".to_owned()))?;
        let enabled = match user.as_object().and_then(|o| path::get_ci(o, "active")) {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            // Some servers send the boolean as a string.
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                return Err(self.protocol(format!("user {id}: `active` is {other}, not a boolean")))
            }
        };
        Ok(ObservedAccount {
            reference: AccountRef::new(id),
            enabled,
            attributes: path::flatten(user),
        })
    }

    fn to_group(&self, group: &Value) -> Result<ObservedGroup, ConnectorError> {
        let id = wire::resource_id(group)
            .ok_or_else(|| self.protocol("a group without `id`".to_owned()))?;
        let obj = group.as_object();
        let name = obj
            .and_then(|o| path::get_ci(o, "displayName"))
            .and_then(Value::as_str)
            .ok_or_else(|| self.protocol(format!("group {id} has no `displayName`")))?;
        let listed = obj
            .and_then(|o| path::get_ci(o, "members"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|m| m.get("value").and_then(Value::as_str))
                    .map(AccountRef::new)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let group = ObservedGroup::from_listing(GroupRef::new(id), name.to_owned(), listed);
        for (member, times) in &group.duplicates {
            warn!(group = %group.reference, %member, times, "Group lists a member more than once.");
        }
        Ok(group)
    }

    // ----- users ---------------------------------------------------------------------------

    #[instrument(skip_all, fields(target = %self.target))]
    async fn create(
        &self,
        attributes: &Attributes,
        enabled: bool,
    ) -> Result<Outcome, ConnectorError> {
        let mut resource = Map::new();
        resource.insert("schemas".to_owned(), json!([CORE_USER_SCHEMA]));
        for (path, value) in self.parse_paths(attributes)? {
            if !value.is_null() {
                path.set(&mut resource, value.clone());
            }
        }
        resource.insert("active".to_owned(), Value::Bool(enabled));
        let body = Value::Object(resource);
        match self
            .client
            .call(Method::POST, "/Users", Some(&body), None)
            .await
        {
            Ok(Reply {
                body: Some(user), ..
            }) if wire::resource_id(&user).is_some() => {
                Ok(Outcome::Created(self.to_account(&user)?))
            }
            // Created, probably, but Muster cannot link what it cannot name: the engine
            // re-correlates, as after a timeout.
            Ok(reply) => Err(ConnectorError::Uncertain {
                target: self.target.clone(),
                method: "POST".to_owned(),
                path: "/Users".to_owned(),
                detail: format!("answered {} without the new user's `id`", reply.status),
            }),
            // A 2xx whose body is not JSON: created, but unreadable; re-correlate as above.
            Err(Failure::Error(ConnectorError::Protocol { detail, .. })) => {
                Err(ConnectorError::Uncertain {
                    target: self.target.clone(),
                    method: "POST".to_owned(),
                    path: "/Users".to_owned(),
                    detail,
                })
            }
            Err(Failure::Refused(r)) if r.status == 409 => Err(ConnectorError::Conflict {
                target: self.target.clone(),
                detail: match &r.scim_type {
                    Some(t) => format!("{t}: {}", r.detail),
                    None => r.detail,
                },
            }),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// Writes `changes` (and `active`, when given) to one user.
    #[instrument(skip_all, fields(target = %self.target, account = %account))]
    async fn write_user(
        &self,
        account: &AccountRef,
        changes: &Attributes,
        active: Option<bool>,
    ) -> Result<Found<()>, ConnectorError> {
        let paths = self.parse_paths(changes)?;
        if paths.is_empty() && active.is_none() {
            return Ok(Found::Yes(()));
        }
        let url = format!("/Users/{}", segment(account.as_str()));
        if self.uses_patch() {
            let mut ops: Vec<Value> = paths
                .iter()
                .map(|(path, value)| {
                    let p = path.to_string();
                    if value.is_null() {
                        wire::op_remove(&p)
                    } else {
                        wire::op_replace(&p, (*value).clone())
                    }
                })
                .collect();
            if let Some(a) = active {
                ops.push(wire::op_replace("active", Value::Bool(a)));
            }
            let body = wire::patch_body(ops);
            match self
                .client
                .call(Method::PATCH, &url, Some(&body), None)
                .await
            {
                Ok(_) => return Ok(Found::Yes(())),
                Err(Failure::Refused(r)) if r.status == 404 => return Ok(Found::Gone),
                Err(Failure::Refused(r)) if r.status == 501 => self.demote_patch(&r.path),
                // A `replace` of `emails[type eq "work"].value` on a user without a work
                // address matches nothing (RFC 7644 §3.5.2.3); PATCH is atomic, so nothing was
                // written and the overlay below can create the element.
                Err(Failure::Refused(r)) if r.is(400, "noTarget") => {
                    debug!(detail = %r.detail, "PATCH found no target; writing through PUT.");
                }
                Err(f) => return Err(f.into_error(&self.target)),
            }
        }
        self.put_user(account, &url, &paths, active).await
    }

    /// Fresh GET, overlay, PUT of the whole user (a PUT clears what it omits), one write in
    /// flight per user; a stale `If-Match` (412) is re-read and retried once.
    async fn put_user(
        &self,
        account: &AccountRef,
        url: &str,
        paths: &[(AttrPath, &Value)],
        active: Option<bool>,
    ) -> Result<Found<()>, ConnectorError> {
        let lane = self.lane(format!("Users/{account}"));
        let _in_lane = lane.lock().await;
        for round in 0..2 {
            let (mut user, etag) = match self.fetch(url).await? {
                Found::Yes(found) => found,
                Found::Gone => return Ok(Found::Gone),
            };
            let before = user.clone();
            for (path, value) in paths {
                path.set(&mut user, (*value).clone());
            }
            if let Some(a) = active {
                user.insert("active".to_owned(), Value::Bool(a));
            }
            if user == before {
                return Ok(Found::Yes(()));
            }
            let body = Value::Object(user);
            let if_match = etag.as_deref().filter(|_| self.etag);
            match self
                .client
                .call(Method::PUT, url, Some(&body), if_match)
                .await
            {
                Ok(_) => return Ok(Found::Yes(())),
                Err(Failure::Refused(r)) if r.status == 404 => return Ok(Found::Gone),
                Err(Failure::Refused(r)) if r.status == 412 && round == 0 => {
                    debug!("Stale ETag; re-reading once.");
                }
                Err(Failure::Refused(r)) if r.status == 412 => {
                    return Err(ConnectorError::Rejected {
                        target: self.target.clone(),
                        method: "PUT".to_owned(),
                        path: r.path,
                        status: 412,
                        detail: format!("changed concurrently: {}", r.detail),
                    })
                }
                Err(f) => return Err(f.into_error(&self.target)),
            }
        }
        Err(self.protocol(format!("PUT {url}: no outcome after two rounds")))
    }

    /// GETs one resource, without its `meta`, with its version.
    async fn fetch(
        &self,
        url: &str,
    ) -> Result<Found<(Map<String, Value>, Option<String>)>, ConnectorError> {
        match self.client.call(Method::GET, url, None, None).await {
            Ok(Reply {
                body: Some(Value::Object(mut resource)),
                etag,
                ..
            }) => {
                resource.remove("meta");
                Ok(Found::Yes((resource, etag)))
            }
            Ok(_) => Err(self.protocol(format!("GET {url}: the answer is not a resource"))),
            Err(Failure::Refused(r)) if r.status == 404 => Ok(Found::Gone),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    #[instrument(skip_all, fields(target = %self.target, account = %account))]
    async fn remove_user(&self, account: &AccountRef) -> Result<Outcome, ConnectorError> {
        let url = format!("/Users/{}", segment(account.as_str()));
        match self.client.call(Method::DELETE, &url, None, None).await {
            Ok(_) => Ok(Outcome::Done),
            Err(Failure::Refused(r)) if r.status == 404 => Ok(Outcome::AlreadyAbsent),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    // ----- groups --------------------------------------------------------------------------

    /// Adds (`grant`) or removes one member. A member already there is done; one already
    /// absent is [`Outcome::AlreadyAbsent`].
    #[instrument(skip_all, fields(target = %self.target, group = %group, grant))]
    async fn change_membership(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        grant: bool,
    ) -> Result<Outcome, ConnectorError> {
        let url = format!("/Groups/{}", segment(group.as_str()));
        if self.uses_patch() {
            let patched = if grant {
                self.patch_add_member(account, group, &url).await?
            } else {
                self.patch_remove_member(account, group, &url).await?
            };
            if let Some(outcome) = patched {
                return Ok(outcome);
            }
        }
        self.put_membership(account, group, &url, grant).await
    }

    /// PATCH `remove` of every entry of the member (a value filter matches them all).
    /// `None`: the server has no PATCH after all.
    async fn patch_remove_member(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        url: &str,
    ) -> Result<Option<Outcome>, ConnectorError> {
        let body = wire::patch_body(vec![wire::op_remove(&member_path(account))]);
        match self
            .client
            .call(Method::PATCH, &without_members(url), Some(&body), None)
            .await
        {
            // 200 with the group, or 204: either way done.
            Ok(_) => Ok(Some(Outcome::Done)),
            Err(Failure::Refused(r)) if r.status == 404 => Err(self.group_gone(group)),
            Err(Failure::Refused(r)) if r.is(400, "noTarget") => Ok(Some(Outcome::AlreadyAbsent)),
            Err(Failure::Refused(r)) if r.status == 501 => {
                self.demote_patch(&r.path);
                Ok(None)
            }
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// PATCH `add` of the member, never sent twice blindly: a server may list a member as often
    /// as it is added (against RFC 7644 §3.5.2.1's SHOULD). When the answer is lost, the group
    /// is read first, like an uncertain create is looked up: listed once is done, listed more
    /// often is listed once again, not listed is sent again — at most [`ADD_ATTEMPTS`] sends.
    /// `None`: the server has no PATCH after all.
    async fn patch_add_member(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        url: &str,
    ) -> Result<Option<Outcome>, ConnectorError> {
        let add = wire::op_add("members", json!([{ "value": account.as_str() }]));
        let body = wire::patch_body(vec![add]);
        for attempt in 1..=ADD_ATTEMPTS {
            let lost = match self
                .client
                .call_at_most_once(Method::PATCH, &without_members(url), Some(&body))
                .await
            {
                Ok(_) => return Ok(Some(Outcome::Done)),
                Err(Failure::Refused(r)) if r.status == 404 => return Err(self.group_gone(group)),
                Err(Failure::Refused(r)) if r.status == 501 => {
                    self.demote_patch(&r.path);
                    return Ok(None);
                }
                Err(Failure::Error(e @ ConnectorError::Uncertain { .. })) => e,
                Err(f) => return Err(f.into_error(&self.target)),
            };
            let times = match self.times_listed(account, group, url).await {
                Ok(times) => times,
                Err(read) => return Err(crate::http::still_uncertain(lost, &read)),
            };
            match times {
                0 if attempt < ADD_ATTEMPTS => {
                    debug!(
                        attempt,
                        "Add of a member not applied after a lost answer; sending again."
                    );
                }
                0 => return Err(lost),
                1 => {
                    debug!(
                        attempt,
                        "Add of a member applied although its answer was lost."
                    );
                    return Ok(Some(Outcome::Done));
                }
                n => {
                    self.list_once(account, url, n).await?;
                    return Ok(Some(Outcome::Done));
                }
            }
        }
        Err(self.protocol(format!(
            "PATCH {url}: no outcome after {ADD_ATTEMPTS} sends"
        )))
    }

    /// How many times the group lists the member, from a fresh read.
    async fn times_listed(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        url: &str,
    ) -> Result<usize, ConnectorError> {
        let (resource, _) = match self.fetch(url).await? {
            Found::Yes(found) => found,
            Found::Gone => return Err(self.group_gone(group)),
        };
        Ok(path::get_ci(&resource, "members")
            .and_then(Value::as_array)
            .map_or(0, |list| {
                list.iter()
                    .filter(|m| m.get("value").and_then(Value::as_str) == Some(account.as_str()))
                    .count()
            }))
    }

    /// One PATCH that removes every entry of the member and adds it once: atomic (no moment
    /// without access) and safe to send again, since it ends the same however often it runs.
    async fn list_once(
        &self,
        account: &AccountRef,
        url: &str,
        times: usize,
    ) -> Result<(), ConnectorError> {
        let body = wire::patch_body(vec![
            wire::op_remove(&member_path(account)),
            wire::op_add("members", json!([{ "value": account.as_str() }])),
        ]);
        self.client
            .call(Method::PATCH, &without_members(url), Some(&body), None)
            .await
            .map_err(|f| f.into_error(&self.target))?;
        let message = format!(
            "{}: {url} listed account {account} {times} times after an add whose answer was lost; listed once again",
            self.target
        );
        warn!(target = %self.target, %account, times, "Member listed more than once; listed once again.");
        self.warnings.add(message);
        Ok(())
    }

    /// Fresh GET and PUT of the whole group, one write in flight per group, so concurrent
    /// grants into one group never overwrite each other's member.
    async fn put_membership(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        url: &str,
        grant: bool,
    ) -> Result<Outcome, ConnectorError> {
        let lane = self.lane(format!("Groups/{group}"));
        let _in_lane = lane.lock().await;
        for round in 0..2 {
            let (mut resource, etag) = match self.fetch(url).await? {
                Found::Yes(found) => found,
                Found::Gone => return Err(self.group_gone(group)),
            };
            let is_member =
                |m: &Value| m.get("value").and_then(Value::as_str) == Some(account.as_str());
            let members_key = resource
                .keys()
                .find(|k| k.eq_ignore_ascii_case("members"))
                .cloned()
                .unwrap_or_else(|| "members".to_owned());
            let members = resource
                .entry(members_key)
                .or_insert_with(|| Value::Array(Vec::new()));
            if !members.is_array() {
                return Err(self.protocol(format!("GET {url}: `members` is not a list")));
            }
            if let Value::Array(list) = members {
                let present = list.iter().any(is_member);
                match (grant, present) {
                    (true, true) => return Ok(Outcome::Done),
                    (false, false) => return Ok(Outcome::AlreadyAbsent),
                    (true, false) => list.push(json!({ "value": account.as_str() })),
                    (false, true) => list.retain(|m| !is_member(m)),
                }
            }
            let body = Value::Object(resource);
            let if_match = etag.as_deref().filter(|_| self.etag);
            match self
                .client
                .call(Method::PUT, url, Some(&body), if_match)
                .await
            {
                Ok(_) => return Ok(Outcome::Done),
                Err(Failure::Refused(r)) if r.status == 404 => return Err(self.group_gone(group)),
                Err(Failure::Refused(r)) if r.status == 412 && round == 0 => {
                    debug!("Stale ETag; re-reading once.");
                }
                Err(Failure::Refused(r)) if r.status == 412 => {
                    return Err(ConnectorError::Rejected {
                        target: self.target.clone(),
                        method: "PUT".to_owned(),
                        path: r.path,
                        status: 412,
                        detail: format!("changed concurrently: {}", r.detail),
                    })
                }
                Err(f) => return Err(f.into_error(&self.target)),
            }
        }
        Err(self.protocol(format!("PUT {url}: no outcome after two rounds")))
    }
}

/// Sends of one PATCH `add` of a member whose answers are lost; each send after the first is
/// preceded by a read of the group.
const ADD_ATTEMPTS: usize = crate::http::AT_MOST_ONCE_SENDS;

/// A membership PATCH's URL asking for the group without its members in the answer (RFC 7644
/// §3.5.2: a 200 carries the resource "subject to the attributes query parameter", §3.9): a
/// grant into a group of 100,000 members must not bring 100,000 members back. A server that
/// answers 204 or ignores the parameter loses nothing; a member's add is never judged by the
/// answer's body.
fn without_members(url: &str) -> String {
    format!("{url}?excludedAttributes=members")
}

/// The PATCH path of every entry of one member.
fn member_path(account: &AccountRef) -> String {
    format!(
        "members[value eq {}]",
        super::filter::quote(account.as_str())
    )
}

/// A resource id as one URL path segment (ids are opaque; some contain `/` or spaces).
fn segment(id: &str) -> String {
    super::filter::encode_query_value(id)
}

impl TargetErrors for ScimConnector {
    fn target_name(&self) -> &TargetName {
        &self.target
    }
}

#[async_trait]
impl Connector for ScimConnector {
    fn target(&self) -> &TargetName {
        &self.target
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn warnings(&self) -> Vec<String> {
        ScimConnector::warnings(self)
    }

    #[instrument(skip_all, fields(target = %self.target))]
    async fn read_all(&self) -> Result<Observed, ConnectorError> {
        let page_size = self.page_size;
        let users = self.client.read_all("Users", None, None, page_size).await?;
        let groups = self
            .client
            .read_all("Groups", None, None, page_size)
            .await?;
        let observed = Observed {
            accounts: users
                .iter()
                .map(|u| self.to_account(u))
                .collect::<Result<_, _>>()?,
            groups: groups
                .iter()
                .map(|g| self.to_group(g))
                .collect::<Result<_, _>>()?,
            deleted: Vec::new(),
        };
        info!(
            accounts = observed.accounts.len(),
            groups = observed.groups.len(),
            "Read the target."
        );
        Ok(observed)
    }

    /// Filters `/Users` on `attribute eq "value"`. Results whose own value of `attribute`
    /// differs (ignoring case) are dropped, so a server that ignores the filter yields no
    /// false match.
    #[instrument(skip_all, fields(target = %self.target, attribute))]
    async fn lookup(
        &self,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<ObservedAccount>, ConnectorError> {
        if !self.filter {
            return Err(self.config_error(
                "the server does not support filters, so accounts cannot be looked up \
                 (set `capabilities = { filter = true }` if it does)"
                    .to_owned(),
            ));
        }
        let filter = eq_filter(attribute, value).map_err(|e| self.config_error(e))?;
        let users = self
            .client
            .read_all("Users", Some(&filter), None, self.page_size)
            .await?;
        let mut found = Vec::with_capacity(users.len());
        for user in &users {
            let account = self.to_account(user)?;
            let differs = match account.attributes.get(attribute) {
                Some(Value::String(s)) => !s.eq_ignore_ascii_case(value),
                _ => false,
            };
            if !differs {
                found.push(account);
            }
        }
        Ok(found)
    }

    /// Filters `/Groups` on `displayName eq "name"` per name, members left out
    /// (`excludedAttributes=members`). The results are matched by name again, so a server
    /// that ignores the filter yields no false match.
    #[instrument(skip_all, fields(target = %self.target, names = names.len()))]
    async fn lookup_groups(&self, names: &[String]) -> Result<Vec<ObservedGroup>, ConnectorError> {
        if !self.filter {
            return Err(self.config_error(
                "the server does not support filters, so groups cannot be looked up \
                 (set `capabilities = { filter = true }` if it does)"
                    .to_owned(),
            ));
        }
        // One query per name as the plan matches it (`Sales` and ` sales` are one).
        let asked: BTreeMap<String, &str> =
            names.iter().map(|n| (group_key(n), n.trim())).collect();
        let mut listed: HashMap<GroupRef, String> = HashMap::new();
        for name in asked.values() {
            let filter = eq_filter("displayName", name).map_err(|e| self.config_error(e))?;
            let groups = self
                .client
                .read_all("Groups", Some(&filter), Some("members"), self.page_size)
                .await?;
            for g in &groups {
                let g = self.to_group(g)?;
                listed.insert(g.reference, g.name);
            }
        }
        Ok(groups_named(listed, names))
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
}
