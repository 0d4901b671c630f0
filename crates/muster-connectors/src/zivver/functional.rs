//! Functional accounts as accounts (`functional_accounts = "accounts"`): their requests. The
//! shapes are [`super::functional_wire`]'s; this module reads groups as accounts, creates one
//! with `POST Groups`, changes one with a partial `PUT Groups/{id}` built on a fresh read,
//! suspends one with the remove-all PATCH (a PUT of an empty member list changes nothing),
//! and translates delegates between e-mail addresses and user ids.
//!
//! Every request goes through the same client, and so the same token bucket, as the users'.

use super::client::{Failure, Reply};
use super::config::FunctionalAccounts;
use super::connector::{segment, Inner, PAGE_SIZE};
use super::functional_wire::{self as fw, AccountKind};
use super::wire::{self, USER_NAME};
use crate::common::{lock, Found, TargetErrors as _};
use crate::http::{Method, Refused as _};
use muster_core::connector::{Attributes, ConnectorError, ObservedAccount, Outcome};
use muster_core::AccountRef;
use serde_json::Value;
use std::collections::HashMap;
use tracing::{debug, instrument};

/// Who is who in the organisation, as last read or written: user ids and their addresses,
/// and each account's kind, so that writes go to `/Users` or `/Groups` without asking.
#[derive(Debug, Default)]
pub(super) struct Directory {
    /// Lower-cased `userName` → user id.
    ids: HashMap<String, String>,
    /// User id → `userName`.
    names: HashMap<String, String>,
    kinds: HashMap<AccountRef, AccountKind>,
    /// A full read of `Users` filled `ids`: an address not in it is no user (unless created
    /// since, by this connector, which adds it).
    complete: bool,
}

impl Directory {
    fn add_user(&mut self, id: &str, user_name: &str) {
        self.ids.insert(user_name.to_lowercase(), id.to_owned());
        self.names.insert(id.to_owned(), user_name.to_owned());
        self.kinds.insert(AccountRef::new(id), AccountKind::User);
    }
}

impl Inner {
    pub(super) fn accounts_mode(&self) -> bool {
        self.functional == FunctionalAccounts::Accounts
    }

    /// Replaces what is known of the users by a full read.
    pub(super) fn remember_users(&self, users: &[ObservedAccount]) {
        let mut d = lock(&self.directory);
        d.ids.clear();
        d.names.clear();
        for u in users {
            if let Some(name) = u.attributes.get(USER_NAME).and_then(Value::as_str) {
                d.add_user(u.reference.as_str(), name);
            }
        }
        d.complete = true;
    }

    /// Records a user this connector created or found.
    pub(super) fn remember_user(&self, account: &ObservedAccount) {
        if let Some(name) = account.attributes.get(USER_NAME).and_then(Value::as_str) {
            lock(&self.directory).add_user(account.reference.as_str(), name);
        }
    }

    fn remember_kind(&self, account: &AccountRef, kind: AccountKind) {
        lock(&self.directory).kinds.insert(account.clone(), kind);
    }

    fn address_of(&self, user_id: &str) -> Option<String> {
        lock(&self.directory).names.get(user_id).cloned()
    }

    /// What `account` is: as last seen, else asked of Zivver (`GET Users/{id}`, then
    /// `GET Groups/{id}`); `None` when it is neither (gone). Always a user when functional
    /// accounts are groups.
    pub(super) async fn kind_of(
        &self,
        account: &AccountRef,
    ) -> Result<Option<AccountKind>, ConnectorError> {
        if !self.accounts_mode() {
            return Ok(Some(AccountKind::User));
        }
        if let Some(kind) = lock(&self.directory).kinds.get(account) {
            return Ok(Some(*kind));
        }
        let id = segment(account.as_str());
        let kind = if let Found::Yes(_) = self.fetch_user(&format!("/Users/{id}")).await? {
            Some(AccountKind::User)
        } else if let Found::Yes(_) = self.fetch_group(&format!("/Groups/{id}")).await? {
            Some(AccountKind::Functional)
        } else {
            None
        };
        if let Some(kind) = kind {
            self.remember_kind(account, kind);
        }
        Ok(kind)
    }

    /// Refuses an operation whose `kind` differs from the account's: Muster never converts a
    /// user account into a functional account or back.
    pub(super) fn check_kind(
        &self,
        account: &AccountRef,
        actual: AccountKind,
        changes: &Attributes,
    ) -> Result<(), ConnectorError> {
        if !changes.contains_key(fw::KIND) {
            return Ok(());
        }
        let asked = AccountKind::asked(changes).map_err(|e| self.config_error(e))?;
        if asked == actual {
            return Ok(());
        }
        Err(self.config_error(format!(
            "type mismatch: account {account} is a Zivver {} account and the mapping makes it \
             a {} account; Muster never converts an account, so it is skipped",
            actual.word(),
            asked.word()
        )))
    }

    /// `GET Groups/{id}`; 400 is "gone" (zivver.md §4.1).
    pub(super) async fn fetch_group(&self, url: &str) -> Result<Found<Value>, ConnectorError> {
        match self.client.call(Method::GET, url, None).await {
            Ok(Reply {
                body: Some(group @ Value::Object(_)),
                ..
            }) => Ok(Found::Yes(group)),
            Ok(_) => Err(self.protocol(format!("GET {url}: the answer is not a group"))),
            Err(Failure::Refused(r)) if r.status == 400 => Ok(Found::Gone),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// Every group as an account with `kind = "functional"`; a group listed without its
    /// members is read on its own (and left out when it is gone by then). The users must
    /// have been read first, to show members by address.
    pub(super) async fn read_functional(&self) -> Result<Vec<ObservedAccount>, ConnectorError> {
        let listed = self.client.list("Groups", None, PAGE_SIZE).await?;
        let mut accounts = Vec::with_capacity(listed.len());
        for g in listed {
            let id = wire::resource_id(&g)
                .ok_or_else(|| self.protocol("a group without `id`".to_owned()))?
                .to_owned();
            let group = if wire::member_ids(&g).is_some() {
                g
            } else {
                match self
                    .fetch_group(&format!("/Groups/{}", segment(&id)))
                    .await?
                {
                    Found::Yes(one) => one,
                    Found::Gone => {
                        debug!(group = %id, "Functional account gone while reading; left out.");
                        continue;
                    }
                }
            };
            let account =
                fw::to_account(&group, |m| self.address_of(m)).map_err(|e| self.protocol(e))?;
            self.remember_kind(&account.reference, AccountKind::Functional);
            accounts.push(account);
        }
        Ok(accounts)
    }

    /// Functional accounts whose `attribute` equals `value`, ignoring case, from a full read
    /// of `Groups`.
    pub(super) async fn lookup_functional(
        &self,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<ObservedAccount>, ConnectorError> {
        let wanted = value.to_lowercase();
        let accounts = self.read_functional().await?;
        Ok(accounts
            .into_iter()
            .filter(|a| {
                a.attributes
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
                    .and_then(|(_, v)| v.as_str())
                    .is_some_and(|s| s.to_lowercase() == wanted)
            })
            .collect())
    }

    /// The user id of `address`: known, or looked up with `userName eq "…"` unless a full
    /// read showed every user.
    async fn user_id_of(&self, address: &str) -> Result<Option<String>, ConnectorError> {
        {
            let d = lock(&self.directory);
            if let Some(id) = d.ids.get(&address.to_lowercase()) {
                return Ok(Some(id.clone()));
            }
            if d.complete {
                return Ok(None);
            }
        }
        let filter = format!("{USER_NAME} eq {}", crate::scim::filter::quote(address));
        let users = self.client.list("Users", Some(&filter), PAGE_SIZE).await?;
        for u in &users {
            let account = self.to_account(u)?;
            let same = account
                .attributes
                .get(USER_NAME)
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(address));
            if same {
                self.remember_user(&account);
                return Ok(Some(account.reference.as_str().to_owned()));
            }
        }
        Ok(None)
    }

    /// The user ids of `addresses`, in order; an address that is no Zivver user is left out
    /// and reported ("delegate is not a Zivver account").
    async fn member_ids_for(
        &self,
        label: &str,
        addresses: &[String],
    ) -> Result<Vec<String>, ConnectorError> {
        let mut ids: Vec<String> = Vec::with_capacity(addresses.len());
        for address in addresses {
            match self.user_id_of(address).await? {
                Some(id) if !ids.contains(&id) => ids.push(id),
                Some(_) => {}
                None => self.warn(format!(
                    "{}: functional account {label}: delegate {address} was skipped: delegate \
                     is not a Zivver account",
                    self.target
                )),
            }
        }
        Ok(ids)
    }

    /// `POST Groups` with address, display name, members (when created enabled) and aliases.
    /// A lost answer is [`ConnectorError::Uncertain`], for the engine to look the address up
    /// before anything is sent again; an address already in use by a functional account is a
    /// [`ConnectorError::Conflict`], which the engine correlates.
    #[instrument(skip_all, fields(target = %self.target))]
    pub(super) async fn create_functional(
        &self,
        attributes: &Attributes,
        enabled: bool,
    ) -> Result<Outcome, ConnectorError> {
        let d = fw::desired(attributes).map_err(|e| self.config_error(e))?;
        let address = d.address.clone().ok_or_else(|| {
            self.config_error("a functional account needs `userName`, its address".to_owned())
        })?;
        let display_name = d.display_name.clone().unwrap_or_default();
        let aliases = d.aliases.clone().unwrap_or_default();
        let members = match (&d.delegates, enabled) {
            (Some(delegates), true) => self.member_ids_for(&address, delegates).await?,
            _ => Vec::new(),
        };
        let body = fw::create_body(&address, &display_name, &members, &aliases);
        let uncertain = |detail: String| ConnectorError::Uncertain {
            target: self.target.clone(),
            method: "POST".to_owned(),
            path: "/Groups".to_owned(),
            detail,
        };
        match self.client.call(Method::POST, "/Groups", Some(&body)).await {
            Ok(Reply {
                body: Some(created),
                ..
            }) if wire::resource_id(&created).is_some() => {
                // Zivver answers only `id` and `externalId`: the account is what was sent.
                let mut shown = body;
                shown["id"] = created["id"].clone();
                let account =
                    fw::to_account(&shown, |m| self.address_of(m)).map_err(|e| self.protocol(e))?;
                self.remember_kind(&account.reference, AccountKind::Functional);
                Ok(Outcome::Created(account))
            }
            Ok(reply) => Err(uncertain(format!(
                "answered {} without the new functional account's `id`",
                reply.status
            ))),
            Err(Failure::Error(ConnectorError::Protocol { detail, .. })) => Err(uncertain(detail)),
            Err(Failure::Refused(r))
                if r.status == 400
                    && r.detail
                        .eq_ignore_ascii_case("Account is outside the organization") =>
            {
                // Zivver says the same for an address in use and one outside its domains.
                if self
                    .lookup_functional(USER_NAME, &address)
                    .await?
                    .is_empty()
                {
                    Err(r.rejected(&self.target))
                } else {
                    Err(ConnectorError::Conflict {
                        target: self.target.clone(),
                        detail: format!("{}: a functional account has this address", r.detail),
                    })
                }
            }
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// Brings functional account `account` to what `changes` ask, on a fresh read: one
    /// partial `PUT` for what differs, and the remove-all PATCH to suspend it
    /// (`enabled = Some(false)`) or when no delegate is left. A resume (`Some(true)`) puts
    /// the delegates back with the PUT.
    #[instrument(skip_all, fields(target = %self.target, account = %account))]
    pub(super) async fn write_functional(
        &self,
        account: &AccountRef,
        changes: &Attributes,
        enabled: Option<bool>,
    ) -> Result<Found<()>, ConnectorError> {
        let lock = self.user_lock(account);
        let _one_write = lock.lock().await;
        let d = fw::desired(changes).map_err(|e| self.config_error(e))?;
        let url = format!("/Groups/{}", segment(account.as_str()));
        let group = match self.fetch_group(&url).await? {
            Found::Yes(g) => g,
            Found::Gone => return Ok(Found::Gone),
        };
        let current = fw::current(&group).map_err(|e| self.protocol(format!("GET {url}: {e}")))?;
        let label = current
            .address
            .clone()
            .unwrap_or_else(|| account.as_str().to_owned());
        let suspend = enabled == Some(false);
        let members = match (&d.delegates, suspend) {
            (Some(delegates), false) => Some(self.member_ids_for(&label, delegates).await?),
            _ => None,
        };
        let emptied = members.as_ref().is_some_and(Vec::is_empty);
        if enabled == Some(true) && current.members.is_empty() && members.is_none() {
            self.warn(format!(
                "{}: functional account {label} stays suspended: there are no delegates to \
                 put back",
                self.target
            ));
        }
        if let Some(body) = fw::put_body(&current, &d, members.as_deref()) {
            if let Found::Gone = self.put_group(account, &url, &body).await? {
                return Ok(Found::Gone);
            }
        }
        if (suspend || emptied) && !current.members.is_empty() {
            return self.remove_all_members(account, &url).await;
        }
        Ok(Found::Yes(()))
    }

    /// `PUT Groups/{id}` with `body`. A refusal is Zivver's text ("Error creating alias:
    /// Alias is a guest: …", "Error creating member: Member Not Found"), never retried.
    async fn put_group(
        &self,
        account: &AccountRef,
        url: &str,
        body: &Value,
    ) -> Result<Found<()>, ConnectorError> {
        match self.client.call(Method::PUT, url, Some(body)).await {
            Ok(_) => Ok(Found::Yes(())),
            // A 2xx whose body is not JSON: the PUT was taken all the same.
            Err(Failure::Error(ConnectorError::Protocol { .. })) => Ok(Found::Yes(())),
            Err(Failure::Refused(r))
                if r.status == 400
                    && wire::unknown_account(&r.detail)
                        .is_some_and(|id| id.eq_ignore_ascii_case(account.as_str())) =>
            {
                Ok(Found::Gone)
            }
            Err(Failure::Refused(r)) => {
                if let Some(guest) = fw::guest_alias(&r.detail) {
                    debug!(alias = %guest, "Zivver refused an alias that received mail as a guest.");
                }
                Err(r.rejected(&self.target))
            }
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// The remove-all PATCH, Zivver's only way to empty a functional account. Its outcome,
    /// when the answer is lost, is settled by a fresh read: no members left is done.
    async fn remove_all_members(
        &self,
        account: &AccountRef,
        url: &str,
    ) -> Result<Found<()>, ConnectorError> {
        let body = wire::remove_all_members();
        match self.client.call(Method::PATCH, url, Some(&body)).await {
            Ok(_) => Ok(Found::Yes(())),
            Err(Failure::Refused(r))
                if r.status == 400
                    && wire::unknown_account(&r.detail)
                        .is_some_and(|id| id.eq_ignore_ascii_case(account.as_str())) =>
            {
                Ok(Found::Gone)
            }
            Err(Failure::Refused(r)) => Err(r.rejected(&self.target)),
            Err(Failure::Error(lost @ ConnectorError::Uncertain { .. })) => {
                match self.fetch_group(url).await {
                    Ok(Found::Gone) => Ok(Found::Gone),
                    Ok(Found::Yes(g)) => match wire::member_ids(&g) {
                        None => Ok(Found::Yes(())),
                        Some(Ok(ids)) if ids.is_empty() => Ok(Found::Yes(())),
                        _ => Err(lost),
                    },
                    Err(read) => Err(crate::http::still_uncertain(lost, &read)),
                }
            }
            Err(Failure::Error(e)) => Err(e),
        }
    }
}
