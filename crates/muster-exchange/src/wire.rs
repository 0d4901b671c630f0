//! What the Exchange admin API and Graph answer, as this client reads it (exchange-online.md
//! §2). Lenient: fields the source does not use are ignored, missing ones default, so a
//! changed shape shows up as a clear reason on a record rather than a failed parse.

use serde::Deserialize;
use serde_json::Value;

/// One page: `{"value": [...], "@odata.nextLink": "…"}`.
#[derive(Debug, Deserialize)]
pub struct Page {
    #[serde(default)]
    pub value: Vec<Value>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

/// A mailbox of the `Mailbox` list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mailbox {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub primary_smtp_address: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email_addresses: Vec<String>,
    #[serde(default)]
    pub recipient_type_details: String,
    #[serde(default)]
    pub guid: Option<String>,
    #[serde(default)]
    pub account_disabled: bool,
    #[serde(default)]
    pub external_directory_object_id: Option<String>,
}

impl Mailbox {
    /// How messages name it: its primary address, else its name, else its GUID.
    pub fn label(&self) -> String {
        [&self.primary_smtp_address, &self.name, &self.guid]
            .into_iter()
            .flatten()
            .find(|s| !s.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| "(a mailbox without address, name or GUID)".into())
    }

    /// Its object id, when it has a non-empty one.
    pub fn object_id(&self) -> Option<&str> {
        self.external_directory_object_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// What the permission call names it by: the primary address, else the GUID, else the
    /// name.
    pub fn identity(&self) -> Option<&str> {
        [&self.primary_smtp_address, &self.guid, &self.name]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
    }
}

/// One entry of `MailboxPermission`: the current shape with `PermissionList`, or the older
/// flat one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionEntry {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub permission_list: Option<Vec<Permission>>,
    #[serde(default)]
    pub access_rights: Option<Vec<String>>,
    #[serde(default)]
    pub deny: Option<bool>,
    #[serde(default)]
    pub is_inherited: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Permission {
    #[serde(default)]
    pub access_rights: Vec<String>,
    #[serde(default)]
    pub deny: bool,
    #[serde(default)]
    pub is_inherited: bool,
}

impl PermissionEntry {
    /// Whether some permission of the entry is `FullAccess`, allowed, set on the mailbox
    /// itself. An entry that does not say whether it is denied or inherited is neither.
    pub fn grants_full_access(&self) -> bool {
        let full = |rights: &[String]| {
            rights
                .iter()
                .any(|r| r.trim().eq_ignore_ascii_case("FullAccess"))
        };
        match &self.permission_list {
            Some(list) => list
                .iter()
                .any(|p| full(&p.access_rights) && !p.deny && !p.is_inherited),
            None => {
                self.access_rights.as_deref().is_some_and(full)
                    && !self.deny.unwrap_or(false)
                    && !self.is_inherited.unwrap_or(false)
            }
        }
    }
}

/// A recipient (`Recipient('…')`, a group member).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recipient {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub recipient_type_details: String,
    #[serde(default)]
    pub primary_smtp_address: Option<String>,
    #[serde(default)]
    pub guid: Option<String>,
}

impl Recipient {
    /// A mail-enabled group whose members are delegates.
    pub fn is_group(&self) -> bool {
        let t = self.recipient_type_details.as_str();
        t.ends_with("Group") || t == "GroupMailbox"
    }

    /// The identity to ask for its members by: the GUID, else the address, else the name.
    pub fn identity(&self) -> Option<&str> {
        [&self.guid, &self.primary_smtp_address, &self.name]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
    }
}

/// A Graph directory object (`members` of a group).
#[derive(Debug, Clone, Deserialize)]
pub struct DirectoryObject {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

/// The message of an error answer: `error.details[].message`, else
/// `error.innererror.internalException.message`, else `error.message`, else an OAuth
/// `error_description`.
pub fn error_message(body: &Value) -> Option<String> {
    let e = &body["error"];
    let details: Vec<&str> = e["details"]
        .as_array()
        .map(|d| d.iter().filter_map(|d| d["message"].as_str()).collect())
        .unwrap_or_default();
    if !details.is_empty() {
        return Some(details.join("; "));
    }
    [
        &e["innererror"]["internalException"]["message"],
        &e["message"],
        &body["error_description"],
        e,
    ]
    .into_iter()
    .find_map(|v| v.as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_messages_come_from_details_then_inner_then_message() {
        let d = json!({"error": {"message": "m", "details": [{"message": "d1"}, {"message": "d2"}],
                                  "innererror": {"internalException": {"message": "i"}}}});
        assert_eq!(error_message(&d).as_deref(), Some("d1; d2"));
        let i = json!({"error": {"message": "m", "innererror": {"internalException": {"message": "i"}}}});
        assert_eq!(error_message(&i).as_deref(), Some("i"));
        assert_eq!(
            error_message(&json!({"error": {"message": "m"}})).as_deref(),
            Some("m")
        );
        assert_eq!(
            error_message(
                &json!({"error": "invalid_client", "error_description": "AADSTS7000215"})
            )
            .as_deref(),
            Some("AADSTS7000215")
        );
        assert_eq!(error_message(&json!({})), None);
    }
}
