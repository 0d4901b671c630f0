//! The user half of [`super::HelloIdConnector`]: full reads (live and soft-deleted), look-ups,
//! and writes (helloid.md §6): a create POSTs real booleans; an update, enable or disable is
//! a fresh `GET /users/{guid}`, the changes laid over it ([`user::overlay`]) and a PUT of the
//! whole user; a delete is `DELETE /users/{guid}` (soft on the server).

use super::client::{Failure, Reply};
use super::connector::{lock, segment, Found, Inner};
use super::user::{self, USER_NAME};
use super::wire::{self, USER_GUID};
use crate::common::TargetErrors as _;
use crate::http::Method;
use muster_core::connector::{Attributes, ConnectorError, ObservedAccount, Outcome};
use muster_core::AccountRef;
use serde_json::{Map, Value};
use std::collections::HashMap;
use tracing::{debug, instrument};

fn user_key(v: &Value) -> Option<String> {
    wire::str_field(v, USER_GUID).map(str::to_ascii_lowercase)
}

impl Inner {
    /// Every live user (`deleted` false) or every soft-deleted one, all pages.
    pub(super) async fn read_users(
        &self,
        deleted: bool,
    ) -> Result<Vec<ObservedAccount>, ConnectorError> {
        let path = if deleted {
            "/users?isDeleted=true"
        } else {
            "/users"
        };
        let take = super::connector::PAGE_SIZE;
        let users = self.client.list(path, user_key, take).await?;
        users.iter().map(|u| self.to_account(u)).collect()
    }

    /// Keeps the names of soft-deleted users for the message of a colliding create.
    pub(super) fn remember_deleted(&self, deleted: &[ObservedAccount]) {
        let mut names: HashMap<String, Vec<AccountRef>> = HashMap::new();
        for account in deleted {
            if let Some(name) = account.attributes.get(USER_NAME).and_then(Value::as_str) {
                names
                    .entry(name.to_lowercase())
                    .or_default()
                    .push(account.reference.clone());
            }
        }
        *lock(&self.deleted_names) = names;
    }

    /// Accounts whose `attribute` equals `value`. `userName` is one `GET /users/{name}` (HelloID
    /// finds a user by GUID or name, names ignoring case); the answer must carry that name,
    /// so a GUID-shaped name never matches another user's GUID. Any other attribute is
    /// compared, ignoring case for strings, over a full read of `/users`.
    ///
    /// A soft-deleted user is not found: whether `GET /users/{name}` can answer with one is
    /// not documented (helloid.md §4.4), and a create that collides with a deleted user's
    /// name must never be linked to that deleted account (§6: deleted users are never
    /// correlated). It is recognised by `isDeleted: true` in the answer, or by its GUID
    /// among the soft-deleted users of the last full read.
    #[instrument(skip_all, fields(target = %self.target, attribute))]
    pub(super) async fn lookup(
        &self,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<ObservedAccount>, ConnectorError> {
        if attribute.eq_ignore_ascii_case(USER_NAME) {
            let url = format!("/users/{}", segment(value));
            return match self.fetch_user(&url).await? {
                Found::Yes(found) => {
                    let found = Value::Object(found);
                    let same = user::user_name(&found)
                        .is_some_and(|n| n.to_lowercase() == value.to_lowercase());
                    if !same {
                        return Ok(Vec::new());
                    }
                    if let Some(why) = self.soft_deleted(&found) {
                        debug!(
                            user = wire::str_field(&found, USER_GUID).unwrap_or("?"),
                            why, "The user found by name is soft-deleted; counted as not found."
                        );
                        return Ok(Vec::new());
                    }
                    Ok(vec![self.to_account(&found)?])
                }
                Found::Gone => Ok(Vec::new()),
            };
        }
        let wanted = Value::String(value.to_owned());
        let accounts = self.read_users(false).await?;
        Ok(accounts
            .into_iter()
            .filter(|a| {
                a.attributes
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
                    .is_some_and(|(_, v)| match (v, &wanted) {
                        (Value::String(a), Value::String(b)) => {
                            a.to_lowercase() == b.to_lowercase()
                        }
                        (other, _) => other.to_string().eq_ignore_ascii_case(value),
                    })
            })
            .collect())
    }

    /// Why `user` counts as soft-deleted, or `None` for a live user: `isDeleted` true in the
    /// answer itself, or a GUID the last full read listed under `?isDeleted=true`.
    fn soft_deleted(&self, user: &Value) -> Option<&'static str> {
        if user::is_deleted(user) {
            return Some("isDeleted is true");
        }
        let guid = wire::str_field(user, USER_GUID)?;
        lock(&self.deleted_names)
            .values()
            .flatten()
            .any(|r| r.as_str().eq_ignore_ascii_case(guid))
            .then_some("listed as deleted by the last read")
    }

    /// `GET /users/{key}`; gone on 404 or `User not found`.
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
            Err(Failure::Refused(r)) if r.user_not_found() => Ok(Found::Gone),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// `POST /users`. A 409 is a [`ConnectorError::Conflict`] (the engine re-correlates), and
    /// names a soft-deleted user of the last read holding that name, the likely cause when
    /// the tenant keeps deleted names taken.
    #[instrument(skip_all, fields(target = %self.target))]
    pub(super) async fn create(
        &self,
        attributes: &Attributes,
        enabled: bool,
    ) -> Result<Outcome, ConnectorError> {
        let body = user::create_body(attributes, enabled).map_err(|e| self.config_error(e))?;
        let name = body
            .get(USER_NAME)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let uncertain = |detail: String| ConnectorError::Uncertain {
            target: self.target.clone(),
            method: "POST".to_owned(),
            path: "/users".to_owned(),
            detail,
        };
        match self
            .client
            .call(Method::POST, "/users", Some(&Value::Object(body)))
            .await
        {
            Ok(Reply {
                body: Some(created),
                ..
            }) if wire::str_field(&created, USER_GUID).is_some() => {
                Ok(Outcome::Created(self.to_account(&created)?))
            }
            // Created, probably, but Muster cannot link what it cannot name: the engine
            // looks the account up by name, as after a timeout.
            Ok(reply) => Err(uncertain(format!(
                "answered {} without the new user's `{USER_GUID}`",
                reply.status
            ))),
            Err(Failure::Error(ConnectorError::Protocol { detail, .. })) => Err(uncertain(detail)),
            Err(Failure::Refused(r)) if r.status == 409 => {
                let mut detail = r.detail;
                if let Some(refs) = lock(&self.deleted_names).get(&name.to_lowercase()) {
                    let refs: Vec<&str> = refs.iter().map(AccountRef::as_str).collect();
                    detail.push_str(&format!(
                        " (a deleted HelloID user holds this userName: {})",
                        refs.join(", ")
                    ));
                }
                Err(ConnectorError::Conflict {
                    target: self.target.clone(),
                    detail,
                })
            }
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// Fresh GET, overlay, whole-object PUT (helloid.md §4.3); no PUT when nothing changes.
    /// `enabled` sets `isEnabled`.
    #[instrument(skip_all, fields(target = %self.target, account = %account))]
    pub(super) async fn write_user(
        &self,
        account: &AccountRef,
        changes: &Attributes,
        enabled: Option<bool>,
    ) -> Result<Found<()>, ConnectorError> {
        let lock = self.user_lock(account);
        let _one_write = lock.lock().await;
        let url = format!("/users/{}", segment(account.as_str()));
        let base = match self.fetch_user(&url).await? {
            Found::Yes(user) => user,
            Found::Gone => return Ok(Found::Gone),
        };
        let same = wire::field(&base, USER_GUID)
            .and_then(Value::as_str)
            .is_some_and(|g| g.eq_ignore_ascii_case(account.as_str()));
        if !same {
            return Err(self.protocol(format!("GET {url}: the answer is not this user")));
        }
        let mut body = base.clone();
        let skipped = user::overlay(&mut body, changes, enabled, self.rename)
            .map_err(|e| self.config_error(format!("account {account}: {e}")))?;
        if skipped.password {
            self.warn(format!(
                "{}: password changes are not written: HelloID takes a password only when it \
                 creates a user",
                self.target
            ));
        }
        if body == base {
            debug!("User already as asked; no PUT.");
            return Ok(Found::Yes(()));
        }
        match self
            .client
            .call(Method::PUT, &url, Some(&Value::Object(body)))
            .await
        {
            Ok(_) => Ok(Found::Yes(())),
            // A 2xx whose body is not JSON: the PUT was taken all the same.
            Err(Failure::Error(ConnectorError::Protocol { .. })) => Ok(Found::Yes(())),
            // Deleted between the read and the write.
            Err(Failure::Refused(r)) if r.user_not_found() => Ok(Found::Gone),
            // A rename onto a name another user holds.
            Err(Failure::Refused(r)) if r.status == 409 => Err(ConnectorError::Conflict {
                target: self.target.clone(),
                detail: r.detail,
            }),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// `DELETE /users/{guid}`: HelloID soft-deletes. A user that is not there is already absent.
    #[instrument(skip_all, fields(target = %self.target, account = %account))]
    pub(super) async fn remove_user(
        &self,
        account: &AccountRef,
    ) -> Result<Outcome, ConnectorError> {
        let url = format!("/users/{}", segment(account.as_str()));
        match self.client.call(Method::DELETE, &url, None).await {
            Ok(_) => Ok(Outcome::Done),
            Err(Failure::Refused(r)) if r.user_not_found() => Ok(Outcome::AlreadyAbsent),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }
}
