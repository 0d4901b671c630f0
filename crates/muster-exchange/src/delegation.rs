//! Which permission entries are delegations, by the rules of exchange-online.md §2: `FullAccess`
//! among the access rights, not denied, not inherited, and a principal that is not
//! `NT AUTHORITY\*` (SELF), not `S-1-5-*` (a deleted principal, reported) and not a built-in
//! admin group. Pure.

use crate::wire::PermissionEntry;

/// What one permission entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Full Access for this principal (an address, a name or a GUID), to be resolved.
    Delegation(String),
    /// Not a delegation; nothing to say.
    Ignored,
    /// Not a delegation, and the administrator should know why (a deleted principal).
    Skipped(String),
}

/// The names of Exchange's built-in admin groups (after `DOMAIN\`), never delegates.
const ADMIN_GROUPS: [&str; 13] = [
    "Administrator",
    "Domain Admins",
    "Enterprise Admins",
    "Organization Management",
    "Exchange Servers",
    "Exchange Trusted Subsystem",
    "Exchange Windows Permissions",
    "Exchange Domain Servers",
    "Managed Availability Servers",
    "Public Folder Management",
    "Delegated Setup",
    "Discovery Management",
    "Recipient Management",
];

/// Classifies one entry.
pub fn classify(entry: &PermissionEntry) -> Entry {
    let user = entry.user.trim();
    if !entry.grants_full_access() {
        return Entry::Ignored;
    }
    let upper = user.to_ascii_uppercase();
    if upper.starts_with("NT AUTHORITY\\") {
        return Entry::Ignored;
    }
    if upper.starts_with("S-1-5-") {
        return Entry::Skipped(format!(
            "Full Access for {user} skipped: a deleted principal (only its SID is left)"
        ));
    }
    if is_admin_group(user) {
        return Entry::Ignored;
    }
    if user.is_empty() {
        return Entry::Skipped("a Full Access entry without a principal skipped".into());
    }
    Entry::Delegation(user.to_owned())
}

fn is_admin_group(user: &str) -> bool {
    user.rsplit_once('\\').is_some_and(|(_, name)| {
        ADMIN_GROUPS
            .iter()
            .any(|g| g.eq_ignore_ascii_case(name.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: serde_json::Value) -> PermissionEntry {
        serde_json::from_value(v).unwrap()
    }

    fn with(user: &str, rights: &[&str], deny: bool, inherited: bool) -> PermissionEntry {
        entry(json!({"User": user, "PermissionList": [
            {"AccessRights": rights, "Deny": deny, "IsInherited": inherited}]}))
    }

    #[test]
    fn full_access_not_denied_not_inherited_is_a_delegation() {
        assert_eq!(
            classify(&with("jan@contoso.nl", &["FullAccess"], false, false)),
            Entry::Delegation("jan@contoso.nl".into())
        );
        assert_eq!(
            classify(&with(
                "Sales",
                &["ReadPermission", "FullAccess"],
                false,
                false
            )),
            Entry::Delegation("Sales".into())
        );
    }

    #[test]
    fn self_inherited_denied_other_rights_and_admin_groups_are_not() {
        for e in [
            with("NT AUTHORITY\\SELF", &["FullAccess"], false, false),
            with("jan@contoso.nl", &["FullAccess"], true, false),
            with("jan@contoso.nl", &["FullAccess"], false, true),
            with("jan@contoso.nl", &["ReadPermission"], false, false),
            with("NAMPR01A001\\Domain Admins", &["FullAccess"], false, false),
            with(
                "NAMPR01A001\\Organization Management",
                &["FullAccess"],
                false,
                false,
            ),
        ] {
            assert_eq!(classify(&e), Entry::Ignored, "{e:?}");
        }
    }

    #[test]
    fn a_deleted_principal_is_skipped_with_a_reason() {
        let e = with(
            "S-1-5-21-3623811015-3361044348-30300820-1013",
            &["FullAccess"],
            false,
            false,
        );
        match classify(&e) {
            Entry::Skipped(reason) => assert!(reason.contains("deleted principal"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_older_flat_shape_reads_alike() {
        let e = entry(
            json!({"User": "jan@contoso.nl", "AccessRights": ["FullAccess"], "Deny": false, "IsInherited": false}),
        );
        assert_eq!(classify(&e), Entry::Delegation("jan@contoso.nl".into()));
        let denied =
            entry(json!({"User": "jan@contoso.nl", "AccessRights": ["FullAccess"], "Deny": true}));
        assert_eq!(classify(&denied), Entry::Ignored);
    }
}
