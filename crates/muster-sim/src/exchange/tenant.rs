//! The tenant the simulator serves (exchange-online.md §2, §4): mailboxes, mail-enabled groups
//! and Full Access entries, seedable from JSON and changed between runs by the test API. Pure
//! data and the look-ups the routes answer from; no HTTP here.
//!
//! Every mailbox's permission list is what Exchange shows: `NT AUTHORITY\SELF` first, then the
//! inherited and denied entries of the built-in admin groups, then what the seed granted.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// A whole tenant as JSON: what `ExchangeSimConfig::tenant` and `PUT /_sim/tenant` take.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSeed {
    #[serde(default)]
    pub mailboxes: Vec<SeedMailbox>,
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
    #[serde(default)]
    pub permissions: Vec<SeedPermission>,
}

impl TenantSeed {
    /// A generated tenant in `domain` (initial domain `contoso.onmicrosoft.com`): `users` user
    /// mailboxes (every 25th disabled, every 10th with an alias in `domain`, each with an
    /// `onmicrosoft.com` alias and a SIP address), `shared` shared mailboxes (disabled, as
    /// shared mailboxes are) each with `per_shared` Full Access users, and mail-enabled groups
    /// of five users each: every 5th shared mailbox is also granted to a group by name, every
    /// 7th to a group by GUID, every 11th names a deleted principal. Deterministic.
    pub fn example(domain: &str, users: usize, shared: usize, per_shared: usize) -> Self {
        let mut seed = TenantSeed::default();
        let user = |i: usize| format!("user{i:05}@{domain}");
        for i in 0..users {
            let mut addresses = vec![
                format!("SMTP:{}", user(i)),
                format!("smtp:user{i:05}@contoso.onmicrosoft.com"),
                format!("SIP:{}", user(i)),
            ];
            if i % 10 == 0 {
                addresses.push(format!("smtp:u{i}@{domain}"));
            }
            seed.mailboxes.push(SeedMailbox {
                name: format!("user{i:05}"),
                alias: None,
                display_name: format!("User {i}"),
                recipient_type_details: "UserMailbox".into(),
                primary_smtp_address: user(i),
                email_addresses: addresses,
                account_disabled: i % 25 == 24,
                external_directory_object_id: Some(format!("00000000-0000-4000-8000-{i:012}")),
                guid: None,
            });
        }
        let groups = if users == 0 { 0 } else { (shared / 5).max(1) };
        for k in 0..groups {
            seed.groups.push(SeedGroup {
                name: format!("Team {k:03}"),
                alias: None,
                display_name: None,
                primary_smtp_address: format!("team{k:03}@{domain}"),
                recipient_type_details: "MailUniversalSecurityGroup".into(),
                guid: Some(format!("00000000-0000-4000-a000-{k:012}")),
                external_directory_object_id: Some(format!("00000000-0000-4000-b000-{k:012}")),
                members: (0..5)
                    .map(|t| format!("user{:05}", (k * 5 + t) % users))
                    .collect(),
            });
        }
        for j in 0..shared {
            let name = format!("shared{j:04}");
            let address = format!("{name}@{domain}");
            seed.mailboxes.push(SeedMailbox {
                name: name.clone(),
                alias: None,
                display_name: format!("Shared {j}"),
                recipient_type_details: "SharedMailbox".into(),
                primary_smtp_address: address.clone(),
                email_addresses: vec![
                    format!("SMTP:{address}"),
                    format!("smtp:desk{j}@{domain}"),
                    format!("smtp:{name}@contoso.onmicrosoft.com"),
                ],
                account_disabled: true,
                external_directory_object_id: Some(format!("00000000-0000-4000-9000-{j:012}")),
                guid: None,
            });
            let grant = |user: String| SeedPermission {
                mailbox: address.clone(),
                user,
                access_rights: full_access(),
                deny: false,
                is_inherited: false,
            };
            if users > 0 {
                for t in 0..per_shared {
                    seed.permissions.push(grant(user((j * 7 + t * 13) % users)));
                }
            }
            if groups > 0 && j % 5 == 0 {
                seed.permissions
                    .push(grant(format!("Team {:03}", j % groups)));
            }
            if groups > 0 && j % 7 == 0 {
                seed.permissions.push(grant(format!(
                    "00000000-0000-4000-a000-{:012}",
                    (j + 1) % groups
                )));
            }
            if j % 11 == 0 {
                seed.permissions.push(grant(format!(
                    "S-1-5-21-1004336348-1177238915-682003330-{}",
                    5000 + j
                )));
            }
        }
        seed
    }
}

/// A mailbox as `Get-Mailbox` shows it. `EmailAddresses` are raw (`SMTP:`, `smtp:`, `SIP:`,
/// `X500:` …); `PrimarySmtpAddress` may be empty (a mailbox without an SMTP address).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SeedMailbox {
    /// `Name`, unique in the tenant.
    pub name: String,
    #[serde(default)]
    pub alias: Option<String>,
    pub display_name: String,
    /// `UserMailbox`, `SharedMailbox`, `RoomMailbox`, `EquipmentMailbox`, …
    pub recipient_type_details: String,
    #[serde(default)]
    pub primary_smtp_address: String,
    #[serde(default)]
    pub email_addresses: Vec<String>,
    #[serde(default)]
    pub account_disabled: bool,
    /// The Entra object id; absent for a mailbox that has none.
    #[serde(default)]
    pub external_directory_object_id: Option<String>,
    /// Generated from the name when absent.
    #[serde(default)]
    pub guid: Option<String>,
}

/// A mail-enabled group. `Members` name mailboxes (by address or name) or other groups (by
/// name), so groups nest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SeedGroup {
    pub name: String,
    #[serde(default)]
    pub alias: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub primary_smtp_address: String,
    /// `MailUniversalSecurityGroup` (default) or `MailUniversalDistributionGroup`.
    #[serde(default = "security_group")]
    pub recipient_type_details: String,
    #[serde(default)]
    pub guid: Option<String>,
    /// The Entra object id (Graph's group id).
    #[serde(default)]
    pub external_directory_object_id: Option<String>,
    #[serde(default)]
    pub members: Vec<String>,
}

fn security_group() -> String {
    "MailUniversalSecurityGroup".into()
}

/// One entry of a mailbox's permission list, as granted. `User` is the principal exactly as
/// Exchange shows it: an address, a group's name (a GUID in newer tenants), `S-1-5-…` for a
/// deleted principal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SeedPermission {
    /// The mailbox, by any of its identities.
    pub mailbox: String,
    pub user: String,
    #[serde(default = "full_access")]
    pub access_rights: Vec<String>,
    #[serde(default)]
    pub deny: bool,
    #[serde(default)]
    pub is_inherited: bool,
}

fn full_access() -> Vec<String> {
    vec!["FullAccess".into()]
}

/// The admin entries every mailbox carries (inherited, or denied), which are never delegations.
const ADMIN_ENTRIES: [(&str, bool, bool); 4] = [
    // (principal, deny, inherited)
    ("NAMPR01A001\\Administrator", true, true),
    ("NAMPR01A001\\Domain Admins", true, true),
    ("NAMPR01A001\\Organization Management", false, true),
    ("NAMPR01A001\\Exchange Trusted Subsystem", false, true),
];

/// The tenant: the seed, with every GUID filled in.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    seed: TenantSeed,
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// A stable GUID-shaped id from a name, so seeds need not spell them out.
fn guid_for(kind: &str, name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain(name.to_lowercase().bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let l = h.rotate_left(17) ^ 0x5bd1_e995;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        l & 0xfff,
        l >> 16 & 0xffff_ffff_ffff
    )
}

/// A recipient a look-up can find: a mailbox or a group.
#[derive(Debug, Clone, Copy)]
pub enum Found<'a> {
    Mailbox(&'a SeedMailbox),
    Group(&'a SeedGroup),
}

impl SeedMailbox {
    fn guid(&self) -> String {
        self.guid
            .clone()
            .unwrap_or_else(|| guid_for("mailbox", &self.name))
    }

    fn is(&self, identity: &str) -> bool {
        same(&self.name, identity)
            || self.alias.as_deref().is_some_and(|a| same(a, identity))
            || same(&self.guid(), identity)
            || (!self.primary_smtp_address.is_empty() && same(&self.primary_smtp_address, identity))
            || self
                .external_directory_object_id
                .as_deref()
                .is_some_and(|id| same(id, identity))
            || self.email_addresses.iter().any(|a| {
                a.split_once(':')
                    .is_some_and(|(p, rest)| p.eq_ignore_ascii_case("smtp") && same(rest, identity))
            })
    }

    /// The mailbox as `Get-Mailbox` renders it.
    pub fn render(&self) -> Value {
        json!({
            "Identity": self.name,
            "Name": self.name,
            "Alias": self.alias.clone().unwrap_or_else(|| self.name.clone()),
            "DisplayName": self.display_name,
            "RecipientTypeDetails": self.recipient_type_details,
            "PrimarySmtpAddress": self.primary_smtp_address,
            "EmailAddresses": self.email_addresses,
            "AccountDisabled": self.account_disabled,
            "ExternalDirectoryObjectId": self.external_directory_object_id.clone().unwrap_or_default(),
            "Guid": self.guid(),
        })
    }
}

impl SeedGroup {
    fn guid(&self) -> String {
        self.guid
            .clone()
            .unwrap_or_else(|| guid_for("group", &self.name))
    }

    fn is(&self, identity: &str) -> bool {
        same(&self.name, identity)
            || self.alias.as_deref().is_some_and(|a| same(a, identity))
            || same(&self.guid(), identity)
            || (!self.primary_smtp_address.is_empty() && same(&self.primary_smtp_address, identity))
            || self
                .external_directory_object_id
                .as_deref()
                .is_some_and(|id| same(id, identity))
    }
}

impl Found<'_> {
    /// The recipient as `Get-Recipient` and `Get-DistributionGroupMember` render it.
    pub fn render(&self) -> Value {
        match self {
            Found::Mailbox(m) => json!({
                "Identity": m.name, "Name": m.name, "DisplayName": m.display_name,
                "RecipientType": "UserMailbox",
                "RecipientTypeDetails": m.recipient_type_details,
                "PrimarySmtpAddress": m.primary_smtp_address, "Guid": m.guid(),
                "ExternalDirectoryObjectId": m.external_directory_object_id.clone().unwrap_or_default(),
            }),
            Found::Group(g) => json!({
                "Identity": g.name, "Name": g.name,
                "DisplayName": g.display_name.clone().unwrap_or_else(|| g.name.clone()),
                "RecipientType": if g.recipient_type_details == "MailUniversalSecurityGroup" { "MailUniversalSecurityGroup" } else { "MailUniversalDistributionGroup" },
                "RecipientTypeDetails": g.recipient_type_details,
                "PrimarySmtpAddress": g.primary_smtp_address, "Guid": g.guid(),
                "ExternalDirectoryObjectId": g.external_directory_object_id.clone().unwrap_or_default(),
            }),
        }
    }

    /// As a Graph directory object (`members` of a group).
    fn graph(&self) -> Option<Value> {
        let (kind, id, mail) = match self {
            Found::Mailbox(m) => (
                "#microsoft.graph.user",
                m.external_directory_object_id.clone()?,
                m.primary_smtp_address.clone(),
            ),
            Found::Group(g) => (
                "#microsoft.graph.group",
                g.external_directory_object_id.clone()?,
                g.primary_smtp_address.clone(),
            ),
        };
        Some(
            json!({"@odata.type": kind, "id": id, "mail": if mail.is_empty() { Value::Null } else { Value::String(mail) }}),
        )
    }
}

impl Tenant {
    pub fn new(seed: TenantSeed) -> Self {
        Self { seed }
    }

    pub fn seed(&self) -> &TenantSeed {
        &self.seed
    }

    pub fn seed_mut(&mut self) -> &mut TenantSeed {
        &mut self.seed
    }

    /// Mailboxes whose type is one of `types` (all when empty), in seed order.
    pub fn mailboxes(&self, types: &[String]) -> Vec<&SeedMailbox> {
        self.seed
            .mailboxes
            .iter()
            .filter(|m| {
                types.is_empty() || types.iter().any(|t| same(t, &m.recipient_type_details))
            })
            .collect()
    }

    /// The mailbox `identity` names (name, alias, GUID, any SMTP address, object id).
    pub fn mailbox(&self, identity: &str) -> Option<&SeedMailbox> {
        self.seed.mailboxes.iter().find(|m| m.is(identity))
    }

    pub fn mailbox_mut(&mut self, identity: &str) -> Option<&mut SeedMailbox> {
        self.seed.mailboxes.iter_mut().find(|m| m.is(identity))
    }

    /// Every recipient `identity` names: none, one, or (ambiguous) several.
    pub fn recipients(&self, identity: &str) -> Vec<Found<'_>> {
        let mailboxes = self
            .seed
            .mailboxes
            .iter()
            .filter(|m| m.is(identity))
            .map(Found::Mailbox);
        let groups = self
            .seed
            .groups
            .iter()
            .filter(|g| g.is(identity))
            .map(Found::Group);
        mailboxes.chain(groups).collect()
    }

    pub fn group(&self, identity: &str) -> Option<&SeedGroup> {
        self.seed.groups.iter().find(|g| g.is(identity))
    }

    pub fn group_mut(&mut self, identity: &str) -> Option<&mut SeedGroup> {
        self.seed.groups.iter_mut().find(|g| g.is(identity))
    }

    /// A group's direct members, rendered; a member name that resolves to nothing is left out
    /// (as Exchange does for a deleted object).
    pub fn members(&self, group: &SeedGroup) -> Vec<Value> {
        group
            .members
            .iter()
            .filter_map(|m| self.recipients(m).first().map(Found::render))
            .collect()
    }

    /// The mailbox's permission list as `MailboxPermission` shows it.
    pub fn permissions(&self, mailbox: &SeedMailbox) -> Vec<Value> {
        let entry = |user: &str, rights: &[String], deny: bool, inherited: bool| {
            json!({
                "Identity": mailbox.name, "MailboxIdentity": mailbox.name, "User": user,
                "IsOwner": false,
                "PermissionList": [{
                    "AccessRights": rights, "IsInherited": inherited, "Deny": deny,
                    "InheritanceType": "All",
                }],
            })
        };
        let full = full_access();
        let mut out = vec![entry(
            "NT AUTHORITY\\SELF",
            &["FullAccess".into(), "ReadPermission".into()],
            false,
            false,
        )];
        for (user, deny, inherited) in ADMIN_ENTRIES {
            out.push(entry(user, &full, deny, inherited));
        }
        out.extend(
            self.seed
                .permissions
                .iter()
                // `mailbox.is` first: the look-up scans every mailbox, so running it for every
                // entry made a permission read quadratic (seconds per $batch at 300 mailboxes).
                .filter(|p| {
                    mailbox.is(&p.mailbox)
                        && self
                            .mailbox(&p.mailbox)
                            .is_some_and(|m| m.name == mailbox.name)
                })
                .map(|p| entry(&p.user, &p.access_rights, p.deny, p.is_inherited)),
        );
        out
    }

    /// The Graph members of the group with object id `id` (`transitive`: flattened, each once);
    /// `None` when no group has that id.
    pub fn graph_members(&self, id: &str, transitive: bool) -> Option<Vec<Value>> {
        let group = self.seed.groups.iter().find(|g| {
            g.external_directory_object_id
                .as_deref()
                .is_some_and(|g| same(g, id))
        })?;
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut todo = vec![group];
        let mut visited = BTreeSet::from([group.name.clone()]);
        while let Some(g) = todo.pop() {
            for member in &g.members {
                let Some(found) = self.recipients(member).first().copied() else {
                    continue;
                };
                if let Some(v) = found.graph() {
                    if seen.insert(v["id"].to_string()) {
                        out.push(v);
                    }
                }
                if let Found::Group(inner) = found {
                    if transitive && visited.insert(inner.name.clone()) {
                        todo.push(inner);
                    }
                }
            }
        }
        Some(out)
    }
}

/// A change to one mailbox (test API `PATCH /_sim/mailboxes/{identity}`); absent = unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MailboxChange {
    #[serde(default)]
    pub account_disabled: Option<bool>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// The new primary address: the old one stays as a secondary (`smtp:`) address.
    #[serde(default)]
    pub primary_smtp_address: Option<String>,
    /// A secondary address to add (`smtp:` is prefixed when it has no prefix).
    #[serde(default)]
    pub add_address: Option<String>,
    /// An address to remove, with or without its prefix.
    #[serde(default)]
    pub remove_address: Option<String>,
}

impl SeedMailbox {
    /// Applies `change`.
    pub fn apply(&mut self, change: &MailboxChange) {
        if let Some(d) = change.account_disabled {
            self.account_disabled = d;
        }
        if let Some(n) = &change.display_name {
            self.display_name.clone_from(n);
        }
        if let Some(new) = &change.primary_smtp_address {
            for a in &mut self.email_addresses {
                if let Some(rest) = a.strip_prefix("SMTP:") {
                    *a = format!("smtp:{rest}");
                }
            }
            self.email_addresses
                .retain(|a| !bare(a).eq_ignore_ascii_case(new));
            self.email_addresses.insert(0, format!("SMTP:{new}"));
            self.primary_smtp_address.clone_from(new);
        }
        if let Some(add) = &change.add_address {
            let add = if add.contains(':') {
                add.clone()
            } else {
                format!("smtp:{add}")
            };
            self.email_addresses.push(add);
        }
        if let Some(remove) = &change.remove_address {
            let remove = bare(remove).to_owned();
            self.email_addresses
                .retain(|a| !bare(a).eq_ignore_ascii_case(&remove));
        }
    }
}

/// An address without its `smtp:`-like prefix.
fn bare(address: &str) -> &str {
    address.split_once(':').map_or(address, |(_, rest)| rest)
}

impl Tenant {
    /// Adds a mailbox; refused when its name is taken.
    pub fn add_mailbox(&mut self, mailbox: SeedMailbox) -> Result<(), String> {
        if self.mailbox(&mailbox.name).is_some() {
            return Err(format!("a mailbox named {} exists", mailbox.name));
        }
        self.seed.mailboxes.push(mailbox);
        Ok(())
    }

    /// Removes the mailbox `identity` names and its granted permissions.
    pub fn remove_mailbox(&mut self, identity: &str) -> Result<(), String> {
        let name = self
            .mailbox(identity)
            .map(|m| m.name.clone())
            .ok_or_else(|| format!("no mailbox {identity}"))?;
        let keep: Vec<SeedPermission> = self
            .seed
            .permissions
            .iter()
            .filter(|p| self.mailbox(&p.mailbox).map_or(true, |m| m.name != name))
            .cloned()
            .collect();
        self.seed.permissions = keep;
        self.seed.mailboxes.retain(|m| m.name != name);
        Ok(())
    }

    /// Changes the mailbox `identity` names.
    pub fn change_mailbox(&mut self, identity: &str, change: &MailboxChange) -> Result<(), String> {
        let name = self
            .mailbox(identity)
            .map(|m| m.name.clone())
            .ok_or_else(|| format!("no mailbox {identity}"))?;
        // Grants name the mailbox by any identity: pin them to its name before an address
        // they use changes.
        for p in &mut self.seed.permissions {
            if self
                .seed
                .mailboxes
                .iter()
                .find(|m| m.is(&p.mailbox))
                .is_some_and(|m| m.name == name)
            {
                p.mailbox.clone_from(&name);
            }
        }
        if let Some(m) = self.mailbox_mut(&name) {
            m.apply(change);
        }
        Ok(())
    }

    /// Grants a permission entry.
    pub fn grant(&mut self, permission: SeedPermission) -> Result<(), String> {
        if self.mailbox(&permission.mailbox).is_none() {
            return Err(format!("no mailbox {}", permission.mailbox));
        }
        self.seed.permissions.push(permission);
        Ok(())
    }

    /// Revokes every entry of `user` on `mailbox`; says how many there were.
    pub fn revoke(&mut self, mailbox: &str, user: &str) -> usize {
        let Some(name) = self.mailbox(mailbox).map(|m| m.name.clone()) else {
            return 0;
        };
        let before = self.seed.permissions.len();
        let keep: Vec<SeedPermission> = self
            .seed
            .permissions
            .iter()
            .filter(|p| {
                !(same(&p.user, user) && self.mailbox(&p.mailbox).is_some_and(|m| m.name == name))
            })
            .cloned()
            .collect();
        self.seed.permissions = keep;
        before - self.seed.permissions.len()
    }

    /// Adds a group; refused when its name is taken.
    pub fn add_group(&mut self, group: SeedGroup) -> Result<(), String> {
        if self.group(&group.name).is_some() {
            return Err(format!("a group named {} exists", group.name));
        }
        self.seed.groups.push(group);
        Ok(())
    }

    /// Replaces a group's members.
    pub fn set_members(&mut self, group: &str, members: Vec<String>) -> Result<(), String> {
        let g = self
            .group_mut(group)
            .ok_or_else(|| format!("no group {group}"))?;
        g.members = members;
        Ok(())
    }
}

/// Keeps only the `select`ed properties of `item` (all when `select` is empty); an unknown
/// property is an error naming it.
pub fn project(item: Value, select: &[String]) -> Result<Value, String> {
    if select.is_empty() {
        return Ok(item);
    }
    let Value::Object(map) = item else {
        return Ok(item);
    };
    let mut out = Map::new();
    for s in select {
        match map.iter().find(|(k, _)| k.eq_ignore_ascii_case(s)) {
            Some((k, v)) => {
                out.insert(k.clone(), v.clone());
            }
            None => {
                return Err(format!(
                    "The property '{s}' does not exist on type 'Mailbox'."
                ))
            }
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        serde_json::from_value::<TenantSeed>(json!({
            "mailboxes": [
                {"Name": "jan", "DisplayName": "Jan", "RecipientTypeDetails": "UserMailbox",
                 "PrimarySmtpAddress": "Jan@contoso.nl", "EmailAddresses": ["SMTP:Jan@contoso.nl", "smtp:j@contoso.nl"],
                 "ExternalDirectoryObjectId": "u-jan"},
                {"Name": "info", "DisplayName": "Info", "RecipientTypeDetails": "SharedMailbox",
                 "PrimarySmtpAddress": "info@contoso.nl", "ExternalDirectoryObjectId": "u-info"}
            ],
            "groups": [
                {"Name": "Sales", "PrimarySmtpAddress": "sales@contoso.nl", "Members": ["jan", "Inner"], "ExternalDirectoryObjectId": "g-sales"},
                {"Name": "Inner", "Members": ["info", "Sales"], "ExternalDirectoryObjectId": "g-inner"}
            ],
            "permissions": [{"Mailbox": "info@contoso.nl", "User": "Sales"}]
        }))
        .map(Tenant::new)
        .unwrap()
    }

    #[test]
    fn looks_up_by_every_identity_and_lists_the_builtin_entries() {
        let t = tenant();
        assert_eq!(t.mailbox("j@CONTOSO.nl").unwrap().name, "jan");
        assert_eq!(t.mailbox("u-info").unwrap().name, "info");
        let perms = t.permissions(t.mailbox("info").unwrap());
        assert_eq!(perms[0]["User"], "NT AUTHORITY\\SELF");
        assert_eq!(perms.last().unwrap()["User"], "Sales");
        assert_eq!(perms.len(), 2 + ADMIN_ENTRIES.len());
    }

    #[test]
    fn graph_members_flatten_nested_groups_once_even_in_a_cycle() {
        let t = tenant();
        let direct = t.graph_members("g-sales", false).unwrap();
        assert_eq!(direct.len(), 2, "jan and the group Inner");
        let all = t.graph_members("g-sales", true).unwrap();
        let ids: Vec<&str> = all.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&"u-jan") && ids.contains(&"u-info"), "{ids:?}");
        assert!(t.graph_members("nope", false).is_none());
    }

    #[test]
    fn a_primary_address_change_keeps_the_old_one_as_an_alias() {
        let mut t = tenant();
        let change = MailboxChange {
            primary_smtp_address: Some("jan.new@contoso.nl".into()),
            remove_address: Some("j@contoso.nl".into()),
            add_address: Some("jj@contoso.nl".into()),
            ..MailboxChange::default()
        };
        t.change_mailbox("Jan@contoso.nl", &change).unwrap();
        let m = t.mailbox("u-jan").unwrap();
        assert_eq!(m.primary_smtp_address, "jan.new@contoso.nl");
        assert_eq!(
            m.email_addresses,
            [
                "SMTP:jan.new@contoso.nl",
                "smtp:Jan@contoso.nl",
                "smtp:jj@contoso.nl"
            ]
        );
        t.grant(SeedPermission {
            mailbox: "jan.new@contoso.nl".into(),
            user: "info@contoso.nl".into(),
            access_rights: full_access(),
            deny: false,
            is_inherited: false,
        })
        .unwrap();
        assert_eq!(t.revoke("jan", "INFO@contoso.nl"), 1);
        t.remove_mailbox("info").unwrap();
        assert!(t.mailbox("info").is_none() && t.seed().permissions.is_empty());
    }

    #[test]
    fn the_example_tenant_has_what_it_says() {
        let seed = TenantSeed::example("contoso.nl", 100, 20, 3);
        assert_eq!(seed.mailboxes.len(), 120);
        assert_eq!(seed.groups.len(), 4);
        assert_eq!(
            seed.mailboxes
                .iter()
                .filter(|m| m.account_disabled && m.recipient_type_details == "UserMailbox")
                .count(),
            4
        );
        let t = Tenant::new(seed);
        let by_guid = t.recipients("00000000-0000-4000-a000-000000000001");
        assert_eq!(by_guid.len(), 1);
        assert_eq!(
            t.permissions(t.mailbox("shared0000").unwrap()).len(),
            5 + 3 + 3
        );
    }

    #[test]
    fn select_keeps_named_properties_and_refuses_unknown_ones() {
        let t = tenant();
        let m = t.mailbox("jan").unwrap().render();
        let p = project(m.clone(), &["displayname".into()]).unwrap();
        assert_eq!(p, json!({"DisplayName": "Jan"}));
        assert!(project(m, &["Salary".into()]).is_err());
    }
}
