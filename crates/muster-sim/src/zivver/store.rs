//! The organisation: users, functional accounts (groups), divisions and domains, and Zivver's
//! rules for writing them (zivver.md §2, §4, §6): unique addresses ignoring case, aliases no
//! other account holds, delegates that must be accounts, known divisions only, and the
//! write-only `SsoAccountKey`.
//!
//! Writes are all-or-nothing: a user is built on a copy and committed only when every check
//! passed; a member change is checked in full first and then applied in place, so that adding or
//! removing one member of a 100,000-member group touches that member only. Every request but
//! the ones answering a whole list or group costs O(log n): users and groups are paged through
//! a [`Sequence`], memberships are indexed both ways ([`OrderedSet`] per group, `member_of` per
//! user). Parsing requests belongs to `input`, HTTP to `routes`.

use std::collections::{BTreeSet, HashMap, HashSet};

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde_json::{json, Value};

use super::error::ZivverError;
use super::input::{
    Field, GroupInput, MemberOp, UserInput, CORE_USER, ENTERPRISE, ZIVVER, ZIVVER_GROUP,
};
use crate::order::{OrderedSet, Sequence};

/// The division of a user without one, as Zivver returns it.
pub const ROOT_DIVISION: &str = "/";

/// One account as stored. `sso_account_key` is never rendered for a client.
#[derive(Debug, Clone)]
struct User {
    /// Creation order; listings follow it.
    seq: u64,
    user_name: String,
    formatted: Option<String>,
    nick_name: Option<String>,
    active: bool,
    phone_numbers: Vec<Value>,
    division: String,
    aliases: Vec<String>,
    /// Ids of the delegate accounts: rendered by their current `userName`, gone with them (a
    /// deleted one is skipped when rendered and dropped at the user's next write; ids are
    /// never reused, so it cannot come back).
    delegates: Vec<String>,
    sso_account_key: Option<String>,
    created: String,
}

/// A functional account.
#[derive(Debug, Clone, Default)]
struct Group {
    /// Its address (exchange-online.md §3); seeded permission-style groups have none.
    external_id: Option<String>,
    display_name: String,
    /// User ids, in the order they were set.
    members: OrderedSet,
    aliases: Vec<String>,
}

/// Which of a group write's refusals apply: a create's, or a `PUT`'s (exchange-online.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupWrite {
    Create,
    Put,
}

/// Everything the simulator holds.
#[derive(Debug)]
pub struct Store {
    users: HashMap<String, User>,
    groups: HashMap<String, Group>,
    /// User ids by creation order, pageable by offset.
    user_order: Sequence<String>,
    group_order: Sequence<String>,
    /// User id → ids of the groups listing it, so a delete leaves every group without a scan.
    member_of: HashMap<String, HashSet<String>>,
    /// Lower-cased `userName` → user id.
    names: HashMap<String, String>,
    /// Lower-cased alias → id of the user or group holding it.
    aliases: HashMap<String, String>,
    /// Lower-cased functional-account address (`externalId`) → group id.
    group_names: HashMap<String, String>,
    /// Lower-cased addresses that already received mail as a Zivver guest: no alias may be one.
    guests: BTreeSet<String>,
    divisions: BTreeSet<String>,
    /// Lower-cased organisation domains; empty accepts every address.
    domains: Vec<String>,
    seed: u64,
    next_seq: u64,
    rng: StdRng,
}

/// How a user is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// As a GET returns it: no `SsoAccountKey`.
    Served,
    /// For the test API: also whether the `SsoAccountKey` is set, and its value.
    Dump,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

impl Store {
    /// An empty organisation with these divisions and domains, whose ids follow from `seed`.
    pub fn new(seed: u64, divisions: &[String], domains: &[String]) -> Self {
        Self {
            users: HashMap::new(),
            groups: HashMap::new(),
            user_order: Sequence::default(),
            group_order: Sequence::default(),
            member_of: HashMap::new(),
            names: HashMap::new(),
            aliases: HashMap::new(),
            group_names: HashMap::new(),
            guests: BTreeSet::new(),
            divisions: divisions.iter().cloned().collect(),
            domains: domains.iter().map(|d| lower(d.trim())).collect(),
            seed,
            next_seq: 0,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Removes every user and group and restarts ids; divisions, domains and guest addresses
    /// stay, being the organisation's setup rather than its data.
    pub fn clear(&mut self) {
        let divisions = std::mem::take(&mut self.divisions);
        let domains = std::mem::take(&mut self.domains);
        let guests = std::mem::take(&mut self.guests);
        *self = Self::new(self.seed, &[], &[]);
        self.divisions = divisions;
        self.domains = domains;
        self.guests = guests;
    }

    /// Records an address that already received mail as a Zivver guest.
    pub fn add_guest(&mut self, address: &str) {
        self.guests.insert(lower(address.trim()));
    }

    /// Adds a division users may be placed in.
    pub fn add_division(&mut self, name: &str) {
        self.divisions.insert(name.to_string());
    }

    /// The divisions, `"/"` not included.
    pub fn divisions(&self) -> Vec<String> {
        self.divisions.iter().cloned().collect()
    }

    /// The organisation's domains, lower-cased.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    /// A random (version 4 layout) UUID from the seeded generator.
    fn new_id(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }

    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn in_organisation(&self, address: &str) -> bool {
        if self.domains.is_empty() {
            return true;
        }
        address.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && self.domains.contains(&lower(domain))
        })
    }

    /// Who holds `address` as `userName` or alias, if anyone other than `me`.
    fn holder_other_than(&self, address: &str, me: Option<&str>) -> Option<&str> {
        let key = lower(address);
        [
            self.names.get(&key),
            self.aliases.get(&key),
            self.group_names.get(&key),
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .find(|holder| Some(*holder) != me)
    }

    /// Builds the user `input` makes of `current` (a blank user for a create), checking every
    /// rule; nothing is stored.
    fn build(
        &self,
        mut u: User,
        me: Option<&str>,
        input: UserInput,
        sso_clear_on_omit: bool,
        duplicate: StatusCode,
    ) -> Result<User, ZivverError> {
        let required = || ZivverError::bad("userName is required");
        match input.user_name {
            Field::Set(name) if name.trim().is_empty() => return Err(required()),
            Field::Set(name) => {
                if !self.in_organisation(&name) {
                    return Err(ZivverError::outside_organization());
                }
                if self.holder_other_than(&name, me).is_some() {
                    return Err(ZivverError::new(
                        duplicate,
                        format!("Account already exists: {name}"),
                    ));
                }
                u.user_name = name;
            }
            Field::Null => return Err(required()),
            Field::Absent if me.is_none() => return Err(required()),
            Field::Absent => {}
        }
        match input.formatted {
            Field::Set(v) => u.formatted = Some(v),
            Field::Null => u.formatted = None,
            Field::Absent => {}
        }
        match input.nick_name {
            Field::Set(v) => u.nick_name = Some(v),
            Field::Null => u.nick_name = None,
            Field::Absent => {}
        }
        if let Field::Set(active) = input.active {
            u.active = active;
        }
        match input.phone_numbers {
            Field::Set(v) => u.phone_numbers = v,
            Field::Null => u.phone_numbers.clear(),
            Field::Absent => {}
        }
        match input.division {
            Field::Set(d) if d == ROOT_DIVISION || self.divisions.contains(&d) => u.division = d,
            Field::Set(d) => return Err(ZivverError::invalid_division(&d)),
            Field::Null => u.division = ROOT_DIVISION.to_string(),
            Field::Absent => {}
        }
        match input.aliases {
            Field::Set(list) => {
                let mut seen = BTreeSet::new();
                let mut kept = Vec::new();
                for alias in list {
                    if !self.in_organisation(&alias) {
                        return Err(ZivverError::outside_organization());
                    }
                    if self.holder_other_than(&alias, me).is_some() {
                        return Err(ZivverError::alias_taken(&alias));
                    }
                    // The account's own address is no alias of it.
                    if alias.eq_ignore_ascii_case(&u.user_name) || !seen.insert(lower(&alias)) {
                        continue;
                    }
                    kept.push(alias);
                }
                u.aliases = kept;
            }
            Field::Null => u.aliases.clear(),
            Field::Absent => {}
        }
        match input.delegates {
            Field::Set(list) => {
                let mut ids: Vec<String> = Vec::new();
                // Zivver drops an address that is not an account, silently (zivver.md §2).
                for id in list.iter().filter_map(|a| self.names.get(&lower(a))) {
                    if !ids.contains(id) {
                        ids.push(id.clone());
                    }
                }
                u.delegates = ids;
            }
            Field::Null => u.delegates.clear(),
            Field::Absent => u.delegates.retain(|d| self.users.contains_key(d)),
        }
        match input.sso_account_key {
            Field::Set(key) => u.sso_account_key = Some(key),
            Field::Null => u.sso_account_key = None,
            // The documented risk of a partial PUT (zivver.md §4.3).
            Field::Absent if sso_clear_on_omit => u.sso_account_key = None,
            Field::Absent => {}
        }
        Ok(u)
    }

    fn unindex(&mut self, id: &str) {
        if let Some(old) = self.users.get(id) {
            self.names.remove(&lower(&old.user_name));
            for a in &old.aliases {
                self.aliases.remove(&lower(a));
            }
        }
    }

    fn commit(&mut self, id: String, user: User) {
        self.unindex(&id);
        self.names.insert(lower(&user.user_name), id.clone());
        for a in &user.aliases {
            self.aliases.insert(lower(a), id.clone());
        }
        self.user_order.insert(user.seq, id.clone());
        self.users.insert(id, user);
    }

    /// Creates a user (POST); returns its id.
    pub fn create_user(
        &mut self,
        input: UserInput,
        duplicate: StatusCode,
    ) -> Result<String, ZivverError> {
        let blank = User {
            seq: 0,
            user_name: String::new(),
            formatted: Some(String::new()),
            nick_name: Some(String::new()),
            active: true,
            phone_numbers: Vec::new(),
            division: ROOT_DIVISION.to_string(),
            aliases: Vec::new(),
            delegates: Vec::new(),
            sso_account_key: None,
            created: now(),
        };
        let mut user = self.build(blank, None, input, false, duplicate)?;
        // Ids are drawn only for creates that succeed, so refusals do not shift later ids.
        let id = self.new_id();
        user.seq = self.next_seq();
        self.commit(id.clone(), user);
        Ok(id)
    }

    /// Applies a PUT to user `id`.
    pub fn replace_user(
        &mut self,
        id: &str,
        input: UserInput,
        sso_clear_on_omit: bool,
        duplicate: StatusCode,
    ) -> Result<(), ZivverError> {
        let current = self
            .users
            .get(id)
            .cloned()
            .ok_or_else(|| ZivverError::unknown_account(id))?;
        let user = self.build(current, Some(id), input, sso_clear_on_omit, duplicate)?;
        self.commit(id.to_string(), user);
        Ok(())
    }

    /// Deletes user `id` for good, with its memberships and the delegations to it.
    pub fn delete_user(&mut self, id: &str) -> Result<(), ZivverError> {
        if !self.users.contains_key(id) {
            return Err(ZivverError::unknown_account(id));
        }
        self.unindex(id);
        if let Some(user) = self.users.remove(id) {
            self.user_order.remove(user.seq);
        }
        for gid in self.member_of.remove(id).unwrap_or_default() {
            if let Some(g) = self.groups.get_mut(&gid) {
                g.members.remove(id);
            }
        }
        Ok(())
    }

    /// Seeds a functional account without the checks of a `POST`: no address needed (groups
    /// as permissions have none); members must be users (`Unknown account with uuid`).
    pub fn seed_group(&mut self, input: GroupInput) -> Result<String, ZivverError> {
        let members = match input.members {
            Field::Set(ids) => self.known_members(ids)?,
            _ => Vec::new(),
        };
        let display_name = match input.display_name {
            Field::Set(n) => n,
            _ => return Err(ZivverError::bad("displayName is required")),
        };
        let blank = Group {
            display_name,
            ..Group::default()
        };
        let rest = GroupInput {
            members: Field::Absent,
            display_name: Field::Absent,
            ..input
        };
        let (group, _) = self.build_group(blank, None, rest, GroupWrite::Create)?;
        Ok(self.insert_group(group, members))
    }

    /// `POST Groups`: a functional account with its address (`externalId`), display name,
    /// members (user ids) and aliases; returns its id.
    pub fn create_group(&mut self, input: GroupInput) -> Result<String, ZivverError> {
        if !matches!(&input.external_id, Field::Set(a) if !a.trim().is_empty()) {
            return Err(ZivverError::bad("externalId is required"));
        }
        let (group, members) =
            self.build_group(Group::default(), None, input, GroupWrite::Create)?;
        Ok(self.insert_group(group, members.unwrap_or_default()))
    }

    /// `PUT Groups/{id}`: what is sent is set, what is absent stays; an empty `members` list
    /// changes nothing (exchange-online.md §3: only the remove-all PATCH empties a group).
    pub fn put_group(&mut self, id: &str, input: GroupInput) -> Result<(), ZivverError> {
        let current = self
            .groups
            .get(id)
            .ok_or_else(|| ZivverError::unknown_account(id))?;
        // Everything but the members, which are replaced or kept, never copied.
        let head = Group {
            external_id: current.external_id.clone(),
            display_name: current.display_name.clone(),
            members: OrderedSet::default(),
            aliases: current.aliases.clone(),
        };
        let (group, members) = self.build_group(head, Some(id), input, GroupWrite::Put)?;
        self.commit_group(id.to_string(), group, members);
        Ok(())
    }

    fn insert_group(&mut self, group: Group, members: Vec<String>) -> String {
        // Ids are drawn only for creates that succeed, so refusals do not shift later ids.
        let id = self.new_id();
        let seq = self.next_seq();
        self.group_order.insert(seq, id.clone());
        self.commit_group(id.clone(), group, Some(members));
        id
    }

    /// The group `input` makes of `g` (its members aside), and the member list to set if the
    /// write sets one, checking every rule of exchange-online.md §3; nothing is stored.
    fn build_group(
        &self,
        mut g: Group,
        me: Option<&str>,
        input: GroupInput,
        write: GroupWrite,
    ) -> Result<(Group, Option<Vec<String>>), ZivverError> {
        let mut new_members = None;
        if let Field::Set(address) = input.external_id {
            // Zivver answers an address in use, or outside the claimed domains, alike.
            if address.trim().is_empty()
                || !self.in_organisation(&address)
                || self.holder_other_than(&address, me).is_some()
            {
                return Err(ZivverError::outside_organization());
            }
            g.external_id = Some(address);
        }
        if let Field::Set(name) = input.display_name {
            g.display_name = name;
        }
        if let Field::Set(ids) = input.members {
            let mut seen = HashSet::with_capacity(ids.len());
            let mut members: Vec<String> = Vec::with_capacity(ids.len());
            for id in ids {
                if !self.users.contains_key(&id) {
                    return Err(match write {
                        GroupWrite::Create => ZivverError::unknown_in_set(),
                        GroupWrite::Put => ZivverError::member_not_found(),
                    });
                }
                if seen.insert(id.clone()) {
                    members.push(id);
                }
            }
            // A PUT of an empty list answers 200 and leaves the members alone.
            if !(write == GroupWrite::Put && members.is_empty()) {
                new_members = Some(members);
            }
        }
        match input.aliases {
            Field::Set(list) => {
                let own = g.external_id.clone().unwrap_or_default();
                let mut seen = BTreeSet::new();
                let mut kept = Vec::new();
                for alias in list {
                    if !self.in_organisation(&alias) {
                        return Err(ZivverError::domain_not_owned());
                    }
                    if self.guests.contains(&lower(alias.trim())) {
                        return Err(ZivverError::alias_is_guest(&alias));
                    }
                    if self.holder_other_than(&alias, me).is_some() {
                        return Err(ZivverError::alias_taken(&alias));
                    }
                    if alias.eq_ignore_ascii_case(&own) || !seen.insert(lower(&alias)) {
                        continue;
                    }
                    kept.push(alias);
                }
                g.aliases = kept;
            }
            Field::Null => g.aliases.clear(),
            Field::Absent => {}
        }
        Ok((g, new_members))
    }

    /// Stores `group` (built without members) under `id`: with `members` when the write set
    /// them, else with the members it had.
    fn commit_group(&mut self, id: String, mut group: Group, members: Option<Vec<String>>) {
        let old = self.groups.remove(&id);
        if let Some(old) = &old {
            if let Some(a) = &old.external_id {
                self.group_names.remove(&lower(a));
            }
            for a in &old.aliases {
                self.aliases.remove(&lower(a));
            }
        }
        if let Some(a) = &group.external_id {
            self.group_names.insert(lower(a), id.clone());
        }
        for a in &group.aliases {
            self.aliases.insert(lower(a), id.clone());
        }
        group.members = old.map(|g| g.members).unwrap_or_default();
        if let Some(list) = members {
            self.set_members(&id, &mut group.members, list);
        }
        self.groups.insert(id, group);
    }

    /// Records that group `gid` lists user `uid`.
    fn link(&mut self, uid: &str, gid: &str) {
        self.member_of
            .entry(uid.to_string())
            .or_default()
            .insert(gid.to_string());
    }

    /// Records that group `gid` no longer lists user `uid`.
    fn unlink(&mut self, uid: &str, gid: &str) {
        if let Some(groups) = self.member_of.get_mut(uid) {
            groups.remove(gid);
            if groups.is_empty() {
                self.member_of.remove(uid);
            }
        }
    }

    /// Makes `list` (known users, no repeats) the members of group `gid`, whose members are
    /// `members`: linear in the old and the new list, as a replace must be.
    fn set_members(&mut self, gid: &str, members: &mut OrderedSet, list: Vec<String>) {
        for old in members.iter() {
            if let Some(groups) = self.member_of.get_mut(old) {
                groups.remove(gid);
                if groups.is_empty() {
                    self.member_of.remove(old);
                }
            }
        }
        members.clear();
        for uid in list {
            self.link(&uid, gid);
            members.insert(uid);
        }
    }

    /// `ids` without repeats, or the first that is not a user.
    fn known_members(&self, ids: Vec<String>) -> Result<Vec<String>, ZivverError> {
        let mut seen = HashSet::with_capacity(ids.len());
        let mut out: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            if !self.users.contains_key(&id) {
                return Err(ZivverError::unknown_account(&id));
            }
            if seen.insert(id.clone()) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Applies PatchOp member operations to group `id`, all or none: every operation is
    /// checked first (the first refusal is the one a sequential run would meet, as no check
    /// depends on the members), then applied in place. An `add` or filtered `remove` costs
    /// O(log n) per member named; a `replace` is linear in the old and the new list.
    pub fn patch_group(
        &mut self,
        id: &str,
        ops: Vec<MemberOp>,
        add_remove: bool,
    ) -> Result<(), ZivverError> {
        if !self.groups.contains_key(id) {
            return Err(ZivverError::unknown_account(id));
        }
        for op in &ops {
            if !add_remove && !op.is_known_to_work() {
                return Err(ZivverError::unsupported_patch());
            }
            if let MemberOp::Replace(ids) | MemberOp::Add(ids) = op {
                if let Some(unknown) = ids.iter().find(|m| !self.users.contains_key(*m)) {
                    return Err(ZivverError::unknown_account(unknown));
                }
            }
        }
        let Some(mut members) = self
            .groups
            .get_mut(id)
            .map(|g| std::mem::take(&mut g.members))
        else {
            return Err(ZivverError::unknown_account(id));
        };
        for op in ops {
            match op {
                MemberOp::Replace(ids) => self.set_members(id, &mut members, ids),
                MemberOp::RemoveAll => self.set_members(id, &mut members, Vec::new()),
                MemberOp::Add(ids) => {
                    for uid in ids {
                        if !members.contains(&uid) {
                            self.link(&uid, id);
                            members.insert(uid);
                        }
                    }
                }
                MemberOp::Remove(ids) => {
                    for uid in ids {
                        if members.remove(&uid) {
                            self.unlink(&uid, id);
                        }
                    }
                }
            }
        }
        if let Some(g) = self.groups.get_mut(id) {
            g.members = members;
        }
        Ok(())
    }

    /// Ids of all users, in creation order.
    pub fn user_ids(&self) -> Vec<&str> {
        self.user_order.values().map(String::as_str).collect()
    }

    /// Ids of all groups, in creation order.
    pub fn group_ids(&self) -> Vec<&str> {
        self.group_order.values().map(String::as_str).collect()
    }

    /// How many users there are.
    pub fn user_count(&self) -> usize {
        self.user_order.len()
    }

    /// How many groups there are.
    pub fn group_count(&self) -> usize {
        self.group_order.len()
    }

    /// Ids of at most `count` users from offset `from` on, in creation order: O(log n + count).
    pub fn user_page(&self, from: usize, count: usize) -> Vec<&str> {
        let page = self.user_order.page(from, count);
        page.map(|(_, id)| id.as_str()).collect()
    }

    /// Ids of at most `count` groups from offset `from` on, in creation order.
    pub fn group_page(&self, from: usize, count: usize) -> Vec<&str> {
        let page = self.group_order.page(from, count);
        page.map(|(_, id)| id.as_str()).collect()
    }

    /// Whether group `id` exists.
    pub fn has_group(&self, id: &str) -> bool {
        self.groups.contains_key(id)
    }

    /// Whether user `id` exists.
    pub fn has_user(&self, id: &str) -> bool {
        self.users.contains_key(id)
    }

    /// Id of the user whose `userName` matches, ignoring case.
    pub fn user_id_by_name(&self, name: &str) -> Option<&str> {
        self.names.get(&lower(name)).map(String::as_str)
    }

    /// The stored `SsoAccountKey` of user `id`.
    pub fn sso_key_of(&self, id: &str) -> Option<String> {
        self.users.get(id)?.sso_account_key.clone()
    }

    /// User `id` as JSON; both extension objects are always there (zivver.md §2).
    pub fn render_user(&self, id: &str, view: View) -> Option<Value> {
        let u = self.users.get(id)?;
        let delegates: Vec<&str> = u
            .delegates
            .iter()
            .filter_map(|d| self.users.get(d))
            .map(|d| d.user_name.as_str())
            .collect();
        let mut v = json!({
            "schemas": [CORE_USER, ENTERPRISE, ZIVVER],
            "id": id,
            "userName": u.user_name,
            "name": { "formatted": u.formatted },
            "nickName": u.nick_name,
            "active": u.active,
            "phoneNumbers": u.phone_numbers,
            "meta": {
                "resourceType": "User",
                "created": u.created,
                // Relative, and without `/api`, as in the observed answers of zivver.md §2.
                "location": format!("/scim/v2/Users/{id}"),
            },
            ENTERPRISE: { "division": u.division },
            ZIVVER: { "aliases": u.aliases, "delegates": delegates },
        });
        if view == View::Dump {
            v["ssoAccountKeySet"] = json!(u.sso_account_key.is_some());
            v["ssoAccountKey"] = json!(u.sso_account_key);
        }
        Some(v)
    }

    /// Group `id` as JSON: `externalId` (when it has one), `displayName`, `members` as
    /// `{value, display}`, the enterprise `division` and the Zivver group `aliases`.
    pub fn render_group(&self, id: &str) -> Option<Value> {
        let g = self.groups.get(id)?;
        let members: Vec<Value> = g
            .members
            .iter()
            .filter_map(|m| {
                let u = self.users.get(m)?;
                let display = u
                    .formatted
                    .as_deref()
                    .filter(|f| !f.is_empty())
                    .unwrap_or(&u.user_name);
                Some(json!({ "value": m, "display": display }))
            })
            .collect();
        let mut v = json!({
            "id": id,
            "displayName": g.display_name,
            "members": members,
            ENTERPRISE: { "division": ROOT_DIVISION },
            ZIVVER_GROUP: { "aliases": g.aliases },
        });
        if let Some(address) = &g.external_id {
            v["externalId"] = json!(address);
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zivver::input;

    fn store() -> Store {
        Store::new(1, &["Sales".into()], &["Example.org".into()])
    }

    fn create(s: &mut Store, body: Value) -> Result<String, ZivverError> {
        s.create_user(input::user(&body).unwrap(), StatusCode::CONFLICT)
    }

    #[test]
    fn addresses_are_unique_across_names_and_aliases_ignoring_case() {
        let mut s = store();
        let a = create(
            &mut s,
            json!({ "userName": "a@example.org", ZIVVER: { "aliases": ["alias@example.org"] } }),
        )
        .unwrap();
        let dup = create(&mut s, json!({ "userName": "A@EXAMPLE.ORG" })).unwrap_err();
        assert_eq!(dup.status, StatusCode::CONFLICT);
        let taken = create(
            &mut s,
            json!({ "userName": "b@example.org", ZIVVER: { "aliases": ["ALIAS@example.org"] } }),
        )
        .unwrap_err();
        assert_eq!(
            taken.message,
            "Error creating alias: Alias is already taken for ALIAS@example.org"
        );
        // Freed by a delete.
        s.delete_user(&a).unwrap();
        create(
            &mut s,
            json!({ "userName": "b@example.org", ZIVVER: { "aliases": ["alias@example.org"] } }),
        )
        .unwrap();
    }

    #[test]
    fn refused_creates_do_not_shift_ids() {
        let mut a = store();
        let mut b = store();
        assert!(create(&mut a, json!({ "userName": "x@elsewhere.net" })).is_err());
        assert_eq!(
            create(&mut a, json!({ "userName": "x@example.org" })).unwrap(),
            create(&mut b, json!({ "userName": "x@example.org" })).unwrap()
        );
    }

    #[test]
    fn clear_keeps_divisions_and_domains() {
        let mut s = store();
        s.add_division("Finance");
        create(&mut s, json!({ "userName": "x@example.org" })).unwrap();
        s.clear();
        assert!(s.user_ids().is_empty());
        assert_eq!(s.divisions(), vec!["Finance".to_string(), "Sales".into()]);
        assert_eq!(s.domains(), ["example.org".to_string()]);
    }
}
