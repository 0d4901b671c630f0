//! The in-memory directory: users and groups with their indexes, and the invariants every write
//! keeps: unique `userName` (ignoring case), members that exist, and no member left pointing at
//! a deleted resource. Versions (`meta.version`) and timestamps live here too.
//!
//! Writes are all-or-nothing: [`Store::update`] hands a copy of the attributes to the caller's
//! change and commits only if the change and every check succeed; this is what makes PATCH
//! atomic per request. Parsing requests and rendering HTTP answers belong to `routes` and
//! `patch`; this module only sees normalized attribute maps.
//!
//! A group's members are not in its attribute map but in a [`Members`] list beside it, so a
//! single-member add or remove costs O(log n) in the group's size; the paths that work on the
//! whole map (update, filters) see them as the `members` attribute (see [`Store::full_attrs`]).

use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde_json::{json, Map, Value};

use super::error::{ScimError, ScimType};
use super::filter::Filter;
use super::members::Members;
use super::schema::{Kind, ENTERPRISE_SCHEMA};
use crate::order::Sequence;

/// One stored resource.
#[derive(Debug, Clone)]
struct Entry {
    /// Creation order; listings follow it so paging is stable while nothing changes.
    seq: u64,
    /// Attributes, without a group's `members` (in `members`).
    attrs: Map<String, Value>,
    /// A group's members, in order; empty for users.
    members: Members,
    created: String,
    modified: String,
    /// Bumped on every change; served as `W/"n"`.
    version: u64,
}

/// Resources of one kind, by id and in creation order.
#[derive(Debug, Default)]
struct Table {
    order: Sequence<String>,
    entries: HashMap<String, Entry>,
}

/// Everything the simulator holds.
#[derive(Debug)]
pub struct Store {
    users: Table,
    groups: Table,
    /// Lower-cased `userName` → user id.
    names: HashMap<String, String>,
    /// Member id (user or group) → ids of the groups listing it.
    member_of: HashMap<String, BTreeSet<String>>,
    next_seq: u64,
    rng: StdRng,
    /// Member lists are kept as written, a member listed twice included (the
    /// `duplicate_member_adds` switch); off, duplicates collapse.
    pub keep_repeated_members: bool,
}

/// A membership change [`Store::change_members`] makes in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    /// `add` to `members` of these ids, in order.
    Add(Vec<String>),
    /// `remove` of `members[value eq "id"]`.
    Remove(String),
}

/// What rendering includes beyond what a GET returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// As served: no password.
    Served,
    /// For the test API's state dump: the stored password too.
    Dump,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Checks `If-Match` against the current version: `*` or any listed tag, weak or strong.
fn check_if_match(if_match: Option<&str>, version: u64) -> Result<(), ScimError> {
    let Some(header) = if_match else {
        return Ok(());
    };
    let current = format!("\"{version}\"");
    let ok = header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == current);
    if ok {
        Ok(())
    } else {
        Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            format!("version mismatch: If-Match {header}, current W/{current}"),
        ))
    }
}

impl Store {
    /// An empty store whose ids follow from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            users: Table::default(),
            groups: Table::default(),
            names: HashMap::new(),
            member_of: HashMap::new(),
            next_seq: 0,
            rng: StdRng::seed_from_u64(seed),
            keep_repeated_members: false,
        }
    }

    fn table(&self, kind: Kind) -> &Table {
        match kind {
            Kind::User => &self.users,
            Kind::Group => &self.groups,
        }
    }

    fn table_mut(&mut self, kind: Kind) -> &mut Table {
        match kind {
            Kind::User => &mut self.users,
            Kind::Group => &mut self.groups,
        }
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

    /// Current version of a resource.
    #[cfg(test)]
    pub fn version(&self, kind: Kind, id: &str) -> Option<u64> {
        self.table(kind).entries.get(id).map(|e| e.version)
    }

    /// Id of the user whose `userName` matches, ignoring case.
    pub fn user_id_by_name(&self, name: &str) -> Option<&str> {
        self.names.get(&name.to_lowercase()).map(String::as_str)
    }

    /// Fails with 409 `uniqueness` when another user holds `attrs`' userName.
    fn check_unique(
        &self,
        kind: Kind,
        attrs: &Map<String, Value>,
        own_id: Option<&str>,
    ) -> Result<(), ScimError> {
        if kind != Kind::User {
            return Ok(());
        }
        let name = attrs
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match self.user_id_by_name(name) {
            Some(other) if Some(other) != own_id => Err(ScimError::conflict(format!(
                "userName '{name}' is already taken"
            ))),
            _ => Ok(()),
        }
    }

    /// Resolves group members: each must be an existing user or group other than the group
    /// itself; `type` is set from what the id is, duplicates collapse (unless
    /// `keep_repeated_members`), `$ref` is not stored.
    fn resolve_members(
        &self,
        attrs: &mut Map<String, Value>,
        own_id: Option<&str>,
    ) -> Result<(), ScimError> {
        let Some(Value::Array(members)) = attrs.remove("members") else {
            return Ok(());
        };
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(members.len());
        for m in members {
            let Some(id) = m.get("value").and_then(Value::as_str) else {
                return Err(ScimError::bad(
                    ScimType::InvalidValue,
                    "a member needs a 'value'",
                ));
            };
            let ty = if self.users.entries.contains_key(id) {
                "User"
            } else if self.groups.entries.contains_key(id) && Some(id) != own_id {
                "Group"
            } else {
                return Err(ScimError::bad(
                    ScimType::InvalidValue,
                    format!("member '{id}' does not exist"),
                ));
            };
            if seen.insert(id.to_string()) || self.keep_repeated_members {
                out.push(json!({ "value": id, "type": ty }));
            }
        }
        if !out.is_empty() {
            attrs.insert("members".into(), Value::Array(out));
        }
        Ok(())
    }

    fn member_ids(attrs: &Map<String, Value>) -> BTreeSet<String> {
        attrs
            .get("members")
            .and_then(Value::as_array)
            .map(|ms| {
                ms.iter()
                    .filter_map(|m| m.get("value")?.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Keeps `names` and `member_of` in step with a resource going from `old` to `new`.
    fn reindex(
        &mut self,
        kind: Kind,
        id: &str,
        old: Option<&Map<String, Value>>,
        new: Option<&Map<String, Value>>,
    ) {
        match kind {
            Kind::User => {
                let name = |a: Option<&Map<String, Value>>| {
                    a.and_then(|a| a.get("userName")?.as_str().map(str::to_lowercase))
                };
                if let Some(n) = name(old) {
                    self.names.remove(&n);
                }
                if let Some(n) = name(new) {
                    self.names.insert(n, id.to_string());
                }
            }
            Kind::Group => {
                let before = old.map(Self::member_ids).unwrap_or_default();
                let after = new.map(Self::member_ids).unwrap_or_default();
                for gone in before.difference(&after) {
                    if let Some(set) = self.member_of.get_mut(gone) {
                        set.remove(id);
                        if set.is_empty() {
                            self.member_of.remove(gone);
                        }
                    }
                }
                for added in after.difference(&before) {
                    self.member_of
                        .entry(added.clone())
                        .or_default()
                        .insert(id.to_string());
                }
            }
        }
    }

    /// Stores a new resource and returns its id.
    pub fn create(
        &mut self,
        kind: Kind,
        mut attrs: Map<String, Value>,
    ) -> Result<String, ScimError> {
        self.check_unique(kind, &attrs, None)?;
        self.resolve_members(&mut attrs, None)?;
        let id = self.new_id();
        let seq = self.next_seq;
        self.next_seq += 1;
        self.reindex(kind, &id, None, Some(&attrs));
        let members = Members::from_json(attrs.remove("members"));
        let ts = now();
        let entry = Entry {
            seq,
            attrs,
            members,
            created: ts.clone(),
            modified: ts,
            version: 1,
        };
        let table = self.table_mut(kind);
        table.order.insert(seq, id.clone());
        table.entries.insert(id.clone(), entry);
        Ok(id)
    }

    /// Applies `change` to a copy of a resource's attributes and commits it if the change and
    /// every invariant hold. A change that leaves the attributes equal keeps the version.
    pub fn update(
        &mut self,
        kind: Kind,
        id: &str,
        if_match: Option<&str>,
        change: impl FnOnce(&mut Map<String, Value>) -> Result<(), ScimError>,
    ) -> Result<(), ScimError> {
        let Some(entry) = self.table(kind).entries.get(id) else {
            return Err(ScimError::not_found(kind.name(), id));
        };
        check_if_match(if_match, entry.version)?;
        let mut attrs = Self::full_attrs(entry);
        change(&mut attrs)?;
        self.check_unique(kind, &attrs, Some(id))?;
        self.resolve_members(&mut attrs, Some(id))?;
        self.commit(kind, id, attrs);
        Ok(())
    }

    /// Stores `attrs` (with a group's `members`) as the resource's attributes, unless equal.
    fn commit(&mut self, kind: Kind, id: &str, mut attrs: Map<String, Value>) {
        let Some(entry) = self.table(kind).entries.get(id) else {
            return;
        };
        let old = Self::full_attrs(entry);
        if old == attrs {
            return;
        }
        self.reindex(kind, id, Some(&old), Some(&attrs));
        let members = Members::from_json(attrs.remove("members"));
        let Some(entry) = self.table_mut(kind).entries.get_mut(id) else {
            return;
        };
        entry.attrs = attrs;
        entry.members = members;
        entry.version += 1;
        entry.modified = now();
    }

    /// A resource's attributes with a group's `members` put back as the attribute (absent when
    /// there are none), for the paths that read or change the whole map: O(size).
    fn full_attrs(entry: &Entry) -> Map<String, Value> {
        let mut attrs = entry.attrs.clone();
        if let Some(members) = entry.members.to_json() {
            attrs.insert("members".into(), members);
        }
        attrs
    }

    /// Deletes a resource and takes it out of every group that listed it.
    pub fn delete(
        &mut self,
        kind: Kind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let Some(entry) = self.table(kind).entries.get(id) else {
            return Err(ScimError::not_found(kind.name(), id));
        };
        check_if_match(if_match, entry.version)?;
        let table = self.table_mut(kind);
        let Some(entry) = table.entries.remove(id) else {
            return Ok(());
        };
        table.order.remove(entry.seq);
        self.reindex(kind, id, Some(&Self::full_attrs(&entry)), None);
        for gid in self.member_of.remove(id).unwrap_or_default() {
            self.remove_member_in_place(&gid, id);
        }
        Ok(())
    }

    /// Takes every entry of `member` out of group `gid`'s list: O(log n) per entry
    /// ([`Members::remove`]).
    fn remove_member_in_place(&mut self, gid: &str, member: &str) {
        let Some(group) = self.groups.entries.get_mut(gid) else {
            return;
        };
        if group.members.remove(member) {
            group.version += 1;
            group.modified = now();
        }
    }

    /// Whether group `gid` lists `member` (through the `member_of` index: no scan).
    fn lists(&self, gid: &str, member: &str) -> bool {
        self.member_of
            .get(member)
            .is_some_and(|groups| groups.contains(gid))
    }

    /// One membership change on group `gid` without copying its member list: the PATCH
    /// operations Muster sends for a grant (`add` of members) or a revoke (`remove` of
    /// `members[value eq "…"]`). Answers as [`Self::update`] with `patch::apply` would for the
    /// same request, in O(log n) per added or removed member.
    pub fn change_members(
        &mut self,
        gid: &str,
        if_match: Option<&str>,
        change: &MemberChange,
    ) -> Result<(), ScimError> {
        let Some(entry) = self.groups.entries.get(gid) else {
            return Err(ScimError::not_found(Kind::Group.name(), gid));
        };
        check_if_match(if_match, entry.version)?;
        match change {
            MemberChange::Add(ids) => self.add_members(gid, ids),
            MemberChange::Remove(member) => {
                if !self.lists(gid, member) {
                    return Err(ScimError::bad(
                        ScimType::NoTarget,
                        "operation 1: no 'members' value matches the filter",
                    ));
                }
                self.remove_member_in_place(gid, member);
                if let Some(set) = self.member_of.get_mut(member.as_str()) {
                    set.remove(gid);
                    if set.is_empty() {
                        self.member_of.remove(member.as_str());
                    }
                }
                Ok(())
            }
        }
    }

    fn add_members(&mut self, gid: &str, ids: &[String]) -> Result<(), ScimError> {
        let mut new = Vec::new();
        let mut seen = BTreeSet::new();
        for id in ids {
            let ty = if self.users.entries.contains_key(id) {
                Kind::User
            } else if self.groups.entries.contains_key(id) && id != gid {
                Kind::Group
            } else {
                return Err(ScimError::bad(
                    ScimType::InvalidValue,
                    format!("member '{id}' does not exist"),
                ));
            };
            let listed = self.lists(gid, id) || !seen.insert(id.as_str());
            if !listed || self.keep_repeated_members {
                new.push((id.clone(), ty));
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        let Some(group) = self.groups.entries.get_mut(gid) else {
            return Ok(());
        };
        for (id, ty) in &new {
            group.members.push(id.clone(), *ty);
        }
        group.version += 1;
        group.modified = now();
        for (id, _) in new {
            self.member_of
                .entry(id)
                .or_default()
                .insert(gid.to_string());
        }
        Ok(())
    }

    /// Ids of `kind` matching `filter`, in creation order.
    pub fn find(&self, kind: Kind, filter: Option<&Filter>) -> Vec<&str> {
        let table = self.table(kind);
        if let (Kind::User, Some(name)) = (kind, filter.and_then(|f| f.as_eq_on("userName"))) {
            return self.user_id_by_name(name).into_iter().collect();
        }
        table
            .order
            .values()
            .filter(|id| match (filter, table.entries.get(*id)) {
                (_, None) => false,
                (None, Some(_)) => true,
                // Only a filter on `members` needs them put back into the map.
                (Some(f), Some(e)) if kind == Kind::Group && f.mentions("members") => {
                    f.matches(kind, &Self::full_attrs(e))
                }
                (Some(f), Some(e)) => f.matches(kind, &e.attrs),
            })
            .map(String::as_str)
            .collect()
    }

    /// One page of the ids [`Self::find`] gives (`from` skipped, at most `count`), and how
    /// many match in all. Without a filter no resource is looked at and the offset is found in
    /// O(log n) ([`Sequence::page`]): a page of 100,000 users costs the page, not the table.
    pub fn page(
        &self,
        kind: Kind,
        filter: Option<&Filter>,
        from: usize,
        count: usize,
    ) -> (usize, Vec<&str>) {
        if filter.is_none() {
            let order = &self.table(kind).order;
            let page = order.page(from, count);
            return (order.len(), page.map(|(_, id)| id.as_str()).collect());
        }
        let ids = self.find(kind, filter);
        let from = from.min(ids.len());
        let page = ids[from..from.saturating_add(count).min(ids.len())].to_vec();
        (ids.len(), page)
    }

    /// Ids of every resource of `kind`, in creation order.
    pub fn ids(&self, kind: Kind) -> Vec<String> {
        self.table(kind).order.values().cloned().collect()
    }

    /// A resource as served, with `meta` built from `base` (the SCIM base URL).
    pub fn render(&self, kind: Kind, id: &str, base: &str, view: View) -> Option<Value> {
        self.render_trimmed(kind, id, base, view, true)
    }

    /// As [`Self::render`]; without `members` when `with_members` is false, so an answer that
    /// leaves a group's members out (`excludedAttributes=members`) costs nothing per member.
    pub fn render_trimmed(
        &self,
        kind: Kind,
        id: &str,
        base: &str,
        view: View,
        with_members: bool,
    ) -> Option<Value> {
        let entry = self.table(kind).entries.get(id)?;
        let mut out = Map::new();
        let mut schemas = vec![Value::from(kind.core().id)];
        for (k, v) in &entry.attrs {
            if k == "password" && view == View::Served {
                continue;
            }
            if k == ENTERPRISE_SCHEMA {
                schemas.push(Value::from(ENTERPRISE_SCHEMA));
            }
            out.insert(k.clone(), v.clone());
        }
        if with_members && !entry.members.is_empty() {
            out.insert("members".into(), Self::render_members(&entry.members, base));
        }
        if kind == Kind::User {
            if let Some(groups) = self.member_of.get(id) {
                let gs: Vec<Value> = groups
                    .iter()
                    .map(|gid| {
                        let display = self
                            .groups
                            .entries
                            .get(gid)
                            .and_then(|g| g.attrs.get("displayName"));
                        json!({ "value": gid, "$ref": format!("{base}/Groups/{gid}"),
                                "display": display, "type": "direct" })
                    })
                    .collect();
                out.insert("groups".into(), Value::Array(gs));
            }
        }
        out.insert("schemas".into(), Value::Array(schemas));
        out.insert("id".into(), Value::from(id));
        out.insert(
            "meta".into(),
            json!({
                "resourceType": kind.name(),
                "created": entry.created,
                "lastModified": entry.modified,
                "location": format!("{base}/{}/{id}", kind.endpoint()),
                "version": format!("W/\"{}\"", entry.version),
            }),
        );
        Some(Value::Object(out))
    }

    fn render_members(members: &Members, base: &str) -> Value {
        members
            .iter()
            .map(|(id, ty)| {
                json!({ "value": id, "type": ty.name(),
                        "$ref": format!("{base}/{}/{id}", ty.endpoint()) })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn ids_follow_the_seed() {
        let a = Store::new(1).new_id();
        assert_eq!(a, Store::new(1).new_id());
        assert_ne!(a, Store::new(2).new_id());
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn a_failed_change_leaves_the_resource_untouched() {
        let mut s = Store::new(1);
        let id = s
            .create(Kind::User, attrs(json!({"userName": "a"})))
            .unwrap();
        s.create(Kind::User, attrs(json!({"userName": "b"})))
            .unwrap();
        let err = s
            .update(Kind::User, &id, None, |a| {
                a.insert("userName".into(), json!("B"));
                Ok(())
            })
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert_eq!(s.version(Kind::User, &id), Some(1));
        assert_eq!(s.user_id_by_name("A"), Some(id.as_str()));
    }

    /// The group's members as served: `(value, type)` in order, after checking `$ref`.
    fn served_members(s: &Store, gid: &str) -> Vec<(String, String)> {
        let g = s
            .render(Kind::Group, gid, "http://x", View::Served)
            .unwrap();
        let ms = g.get("members").and_then(Value::as_array).cloned();
        ms.unwrap_or_default()
            .iter()
            .map(|m| {
                let (id, ty) = (m["value"].as_str().unwrap(), m["type"].as_str().unwrap());
                let endpoint = if ty == "Group" { "Groups" } else { "Users" };
                assert_eq!(m["$ref"], json!(format!("http://x/{endpoint}/{id}")));
                assert_eq!(m.as_object().map(Map::len), Some(3), "{m}");
                (id.to_string(), ty.to_string())
            })
            .collect()
    }

    fn generic_patch(s: &mut Store, gid: &str, ops: Value) -> Result<(), ScimError> {
        let body = json!({ "schemas": [super::super::patch::PATCH_SCHEMA], "Operations": ops });
        let adds = if s.keep_repeated_members {
            super::super::patch::MemberAdds::Repeat
        } else {
            super::super::patch::MemberAdds::Ignore
        };
        s.update(Kind::Group, gid, None, |a| {
            super::super::patch::apply(Kind::Group, a, &body, adds)
        })
    }

    /// Single-member adds and removes (the in-place path) against a model list, with repeats
    /// kept, then PUT and generic PATCH on the result, user deletes, filters and versions.
    #[test]
    fn member_lists_stay_exact_through_in_place_removes_re_adds_and_generic_writes() {
        let mut s = Store::new(7);
        s.keep_repeated_members = true;
        let users: Vec<String> = (0..3000)
            .map(|i| {
                s.create(Kind::User, attrs(json!({ "userName": format!("u{i}") })))
                    .unwrap()
            })
            .collect();
        let sub = s
            .create(Kind::Group, attrs(json!({"displayName": "sub"})))
            .unwrap();
        let mut members: Vec<Value> = users.iter().map(|u| json!({ "value": u })).collect();
        members.push(json!({ "value": sub }));
        let gid = s
            .create(
                Kind::Group,
                attrs(json!({"displayName": "big", "members": members})),
            )
            .unwrap();
        let mut model: Vec<(String, String)> = users
            .iter()
            .map(|u| (u.clone(), "User".to_string()))
            .collect();
        model.push((sub.clone(), "Group".to_string()));
        assert_eq!(served_members(&s, &gid), model);
        let mut version = 1;
        let add = |s: &mut Store, ids: &[&String]| {
            let ids = ids.iter().map(|id| id.to_string()).collect();
            s.change_members(&gid, None, &MemberChange::Add(ids))
        };
        let remove = |s: &mut Store, id: &str| {
            s.change_members(&gid, None, &MemberChange::Remove(id.to_string()))
        };

        // Every tenth user listed a second time (repeats kept), in one add.
        let twice: Vec<&String> = users.iter().step_by(10).collect();
        add(&mut s, &twice).unwrap();
        version += 1;
        model.extend(twice.iter().map(|u| (u.to_string(), "User".to_string())));
        assert_eq!(served_members(&s, &gid), model);

        // Remove every third user (a third of them listed twice) and the subgroup.
        let gone: Vec<&String> = users.iter().step_by(3).collect();
        for (i, u) in gone.iter().chain([&&sub]).enumerate() {
            remove(&mut s, u).unwrap();
            version += 1;
            model.retain(|(id, _)| id != *u);
            if i % 97 == 0 {
                assert_eq!(served_members(&s, &gid), model, "after removing {i}");
            }
            assert_eq!(s.version(Kind::Group, &gid), Some(version));
        }
        assert_eq!(served_members(&s, &gid), model);
        let err = remove(&mut s, gone[5]).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::NoTarget));
        assert_eq!(s.version(Kind::Group, &gid), Some(version));

        // Re-adds go last, one per request and several in one.
        for u in gone.iter().take(40).rev() {
            add(&mut s, &[u]).unwrap();
            version += 1;
            model.push((u.to_string(), "User".to_string()));
        }
        add(&mut s, &gone[40..60]).unwrap();
        version += 1;
        model.extend(
            gone[40..60]
                .iter()
                .map(|u| (u.to_string(), "User".to_string())),
        );
        assert_eq!(served_members(&s, &gid), model);
        assert_eq!(s.version(Kind::Group, &gid), Some(version));

        // A filter on members sees the list; one on other attributes still matches.
        let f = |text: &str| super::super::filter::parse(text).unwrap();
        let on = |u: &str| f(&format!("members[value eq \"{u}\"]"));
        assert_eq!(s.find(Kind::Group, Some(&on(gone[0]))), [gid.as_str()]);
        assert!(s.find(Kind::Group, Some(&on(gone[70]))).is_empty());
        assert_eq!(s.find(Kind::Group, Some(&f("members pr"))), [gid.as_str()]);
        assert_eq!(
            s.find(Kind::Group, Some(&f("displayName eq \"big\""))),
            [gid.as_str()]
        );

        // Deleting a user takes every entry of it out, and bumps the version once.
        s.delete(Kind::User, twice[4], None).unwrap();
        version += 1;
        model.retain(|(id, _)| id != twice[4]);
        assert_eq!(served_members(&s, &gid), model);
        assert_eq!(s.version(Kind::Group, &gid), Some(version));

        // A generic PATCH sees the list as left by the in-place changes and keeps its order.
        let kept = model[7].0.clone();
        generic_patch(
            &mut s,
            &gid,
            json!([
                {"op": "replace", "path": "displayName", "value": "big2"},
                {"op": "remove", "path": format!("members[value eq \"{kept}\"]")},
                {"op": "add", "path": "members", "value": [{"value": gone[70]}, {"value": kept}]},
            ]),
        )
        .unwrap();
        version += 1;
        model.retain(|(id, _)| *id != kept);
        model.push((gone[70].to_string(), "User".to_string()));
        model.push((kept.clone(), "User".to_string()));
        assert_eq!(served_members(&s, &gid), model);
        assert_eq!(s.version(Kind::Group, &gid), Some(version));
        // ... and the in-place path sees what it wrote.
        remove(&mut s, gone[70]).unwrap();
        version += 1;
        model.retain(|(id, _)| id != gone[70]);
        assert_eq!(served_members(&s, &gid), model);
        let err = generic_patch(
            &mut s,
            &gid,
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", gone[70])}]),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::NoTarget));

        // A PUT replaces the list: the last 100 in reverse, one of them twice.
        let mut last: Vec<(String, String)> = model.iter().rev().take(100).cloned().collect();
        last.push(last[3].clone());
        let put: Vec<Value> = last.iter().map(|(id, _)| json!({ "value": id })).collect();
        s.update(Kind::Group, &gid, None, |a| {
            *a = attrs(json!({"displayName": "big2", "members": put}));
            Ok(())
        })
        .unwrap();
        version += 1;
        model = last;
        assert_eq!(served_members(&s, &gid), model);
        let first = model[0].0.clone();
        assert!(s.lists(&gid, &first) && !s.lists(&gid, &users[1]));
        remove(&mut s, &model[3].0.clone()).unwrap();
        version += 1;
        let third = model[3].0.clone();
        model.retain(|(id, _)| *id != third);
        assert_eq!(served_members(&s, &gid), model);
        assert_eq!(s.version(Kind::Group, &gid), Some(version));
        // A PUT of the same list changes nothing, not even the version.
        let same: Vec<Value> = model.iter().map(|(id, _)| json!({ "value": id })).collect();
        s.update(Kind::Group, &gid, None, |a| {
            a.insert("members".into(), Value::Array(same));
            Ok(())
        })
        .unwrap();
        assert_eq!(s.version(Kind::Group, &gid), Some(version));

        // Removing the last members leaves no `members` at all, with or without trimming.
        for (id, _) in model.clone() {
            if s.lists(&gid, &id) {
                remove(&mut s, &id).unwrap();
            }
        }
        let g = s
            .render(Kind::Group, &gid, "http://x", View::Served)
            .unwrap();
        assert!(g.get("members").is_none(), "{g}");
        assert_eq!(g["displayName"], "big2");
    }

    #[test]
    fn if_match_accepts_current_weak_or_strong_tags_and_star() {
        assert!(check_if_match(Some("W/\"3\""), 3).is_ok());
        assert!(check_if_match(Some("\"3\""), 3).is_ok());
        assert!(check_if_match(Some("*"), 3).is_ok());
        assert!(check_if_match(Some("W/\"1\", W/\"3\""), 3).is_ok());
        assert_eq!(
            check_if_match(Some("W/\"2\""), 3).unwrap_err().status,
            StatusCode::PRECONDITION_FAILED
        );
    }
}
