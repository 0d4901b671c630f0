//! One read of the tenant: the mailbox list (every page), each mailbox's permissions (`$batch`
//! of ten, or one by one, with bounded concurrency), the Full Access principals resolved
//! (a known mailbox locally, else `Recipient`; groups expanded through
//! `Get-DistributionGroupMember`, one level or, with `nested`, all of them, cycle-safe), and the
//! source filter's members through Graph. Any call that fails after its retries fails the
//! read: a partial tenant would look like leavers.

use crate::client::{Audience, CallError, Client};
use crate::config::{ExchangeOnlineConfig, RECIPIENT_TYPES};
use crate::records::{self, Fetched, Principal};
use crate::wire::{DirectoryObject, Mailbox, PermissionEntry, Recipient};
use base64::Engine as _;
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const SELECT: &str = "PrimarySmtpAddress,DisplayName,EmailAddresses,RecipientTypeDetails,Guid,AccountDisabled,ExternalDirectoryObjectId,Name";

/// Reads everything the records are built from.
pub async fn fetch(client: &Client, cfg: &ExchangeOnlineConfig) -> Result<Fetched, CallError> {
    let mailboxes = mailboxes(client).await?;
    tracing::info!(
        mailboxes = mailboxes.len(),
        "Exchange Online mailboxes read."
    );
    let permissions = permissions(client, cfg, &mailboxes).await?;
    let wanted = records::principals_of(&permissions);
    let principals = resolve(client, cfg, &mailboxes, wanted).await?;
    let filter = if cfg.source_filter_groups.is_empty() {
        None
    } else {
        Some(filter(client, cfg).await?)
    };
    Ok(Fetched {
        mailboxes,
        permissions,
        principals,
        filter,
    })
}

async fn mailboxes(client: &Client) -> Result<Vec<Mailbox>, CallError> {
    let url = client.exchange_url(&format!(
        "Mailbox?RecipientTypeDetails={}&$select={SELECT}",
        RECIPIENT_TYPES.join(",")
    ));
    let items = client
        .all_pages(Audience::Exchange, &url, "mailbox list")
        .await?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value::<Mailbox>(v).map_err(|e| CallError::Failed {
                what: "mailbox list".into(),
                detail: format!("item {} is not a mailbox: {e}", i + 1),
            })
        })
        // A type the filter should have kept out is ignored, not read.
        .filter(|m| {
            m.as_ref().map_or(true, |m| {
                records::kind_of(&m.recipient_type_details).is_some()
            })
        })
        .collect()
}

/// `Mailbox('{base64(identity)}')/MailboxPermission?isEncoded=true`, relative to the API.
fn permission_path(identity: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(identity.as_bytes());
    let escaped: String = b64
        .chars()
        .map(|c| match c {
            '/' => "%2F".to_owned(),
            '+' => "%2B".to_owned(),
            '=' => "%3D".to_owned(),
            c => c.to_string(),
        })
        .collect();
    format!("Mailbox('{escaped}')/MailboxPermission?isEncoded=true")
}

type Entries = Result<Vec<PermissionEntry>, String>;

async fn permissions(
    client: &Client,
    cfg: &ExchangeOnlineConfig,
    mailboxes: &[Mailbox],
) -> Result<Vec<Entries>, CallError> {
    let chunk = if cfg.batch { crate::MAX_BATCH } else { 1 };
    let indexed: Vec<(usize, &Mailbox)> = mailboxes.iter().enumerate().collect();
    let results: Vec<Vec<(usize, Entries)>> = stream::iter(indexed.chunks(chunk))
        .map(|part| async move {
            if part.len() == 1 {
                let (i, m) = part[0];
                Ok(vec![(i, one_permissions(client, m).await?)])
            } else {
                batch_permissions(client, part).await
            }
        })
        .buffer_unordered(cfg.concurrency)
        .try_collect()
        .await?;
    let mut out: Vec<Entries> = (0..mailboxes.len())
        .map(|_| Err("its permissions were not read".to_owned()))
        .collect();
    for (i, entries) in results.into_iter().flatten() {
        out[i] = entries;
    }
    Ok(out)
}

fn entries_of(items: Vec<Value>, label: &str) -> Result<Vec<PermissionEntry>, CallError> {
    items
        .into_iter()
        .map(|v| {
            serde_json::from_value(v).map_err(|e| CallError::Failed {
                what: format!("permissions of {label}"),
                detail: format!("an entry is not a permission: {e}"),
            })
        })
        .collect()
}

async fn one_permissions(client: &Client, m: &Mailbox) -> Result<Entries, CallError> {
    let label = m.label();
    let Some(identity) = m.identity() else {
        return Ok(Err(
            "the mailbox has no address, GUID or name to read its permissions by".into(),
        ));
    };
    let url = client.exchange_url(&permission_path(identity));
    match client
        .all_pages(Audience::Exchange, &url, &format!("permissions of {label}"))
        .await
    {
        Ok(items) => Ok(Ok(entries_of(items, &label)?)),
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(Err(
            "the mailbox disappeared during the read (its permissions answer 404)".into(),
        )),
        Err(e) => Err(e),
    }
}

/// Ten permission reads in one `$batch`; a sub-request that did not answer 200 is read again on
/// its own, with the full retry policy.
async fn batch_permissions(
    client: &Client,
    part: &[(usize, &Mailbox)],
) -> Result<Vec<(usize, Entries)>, CallError> {
    let requests: Vec<Value> = part
        .iter()
        .enumerate()
        .filter_map(|(n, (_, m))| {
            m.identity().map(|id| {
                json!({"id": n.to_string(), "method": "GET", "url": permission_path(id), "headers": {}})
            })
        })
        .collect();
    let answer = client
        .exchange_post(
            &client.exchange_url("$batch"),
            &json!({ "requests": requests }),
            "permissions ($batch)",
        )
        .await?;
    let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
    for r in answer["responses"].as_array().into_iter().flatten() {
        let id = match &r["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        by_id.insert(id, r.clone());
    }
    let mut out = Vec::new();
    for (n, (i, m)) in part.iter().enumerate() {
        let ok = by_id
            .get(&n.to_string())
            .filter(|r| r["status"].as_u64() == Some(200))
            .map(|r| r["body"].clone());
        let entries = match ok {
            Some(body) if body["@odata.nextLink"].is_null() => {
                let items = body["value"].as_array().cloned().unwrap_or_default();
                Ok(entries_of(items, &m.label())?)
            }
            // More pages, an error, or no answer: read it alone.
            _ => one_permissions(client, m).await?,
        };
        out.push((*i, entries));
    }
    Ok(out)
}

/// Every name a mailbox of the list goes by (lower-cased) → its primary address; a name two
/// mailboxes share is left to `Recipient` to decide.
fn local_index(mailboxes: &[Mailbox]) -> BTreeMap<String, Option<String>> {
    let mut index: BTreeMap<String, Option<String>> = BTreeMap::new();
    for m in mailboxes {
        let a = crate::addresses::read(&m.email_addresses, m.primary_smtp_address.as_deref());
        let Some(primary) = a.primary.clone() else {
            continue;
        };
        let names = [
            m.name.clone(),
            m.guid.clone(),
            m.external_directory_object_id.clone(),
            Some(primary.clone()),
        ]
        .into_iter()
        .flatten()
        .chain(a.aliases.iter().cloned());
        for name in names {
            let key = name.trim().to_lowercase();
            if key.is_empty() {
                continue;
            }
            index
                .entry(key)
                .and_modify(|v| {
                    if v.as_deref() != Some(primary.as_str()) {
                        *v = None;
                    }
                })
                .or_insert_with(|| Some(primary.clone()));
        }
    }
    index
}

async fn resolve(
    client: &Client,
    cfg: &ExchangeOnlineConfig,
    mailboxes: &[Mailbox],
    wanted: BTreeSet<String>,
) -> Result<BTreeMap<String, Principal>, CallError> {
    let index = local_index(mailboxes);
    let mut out = BTreeMap::new();
    let mut remote = Vec::new();
    for p in wanted {
        match index.get(&p.trim().to_lowercase()) {
            Some(Some(primary)) => {
                out.insert(p, Principal::Users(vec![primary.clone()]));
            }
            _ => remote.push(p),
        }
    }
    let resolved: Vec<(String, Principal)> = stream::iter(remote)
        .map(|p| async move {
            let r = resolve_remote(client, cfg.nested, &p).await?;
            Ok::<_, CallError>((p, r))
        })
        .buffer_unordered(cfg.concurrency)
        .try_collect()
        .await?;
    out.extend(resolved);
    Ok(out)
}

/// `Recipient('…')` with a quote doubled, percent-encoded.
fn recipient_path(identity: &str) -> String {
    let quoted = identity.replace('\'', "''");
    let escaped: String = quoted
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' | b'\'' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("Recipient('{escaped}')")
}

async fn resolve_remote(
    client: &Client,
    nested: bool,
    principal: &str,
) -> Result<Principal, CallError> {
    let url = client.exchange_url(&recipient_path(principal));
    let recipient = match client
        .exchange_get(&url, &format!("recipient {principal}"))
        .await
    {
        Ok(v) => v,
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
            return Ok(Principal::Skipped(
                "no recipient has that name or address".into(),
            ))
        }
        Err(e)
            if e.status() == Some(StatusCode::BAD_REQUEST)
                && e.message().contains("matches multiple entries") =>
        {
            return Ok(Principal::Ambiguous(
                "matches several recipients (two objects share that name)".into(),
            ))
        }
        Err(e) => return Err(e),
    };
    let recipient: Recipient =
        serde_json::from_value(recipient).map_err(|e| CallError::Failed {
            what: format!("recipient {principal}"),
            detail: format!("not a recipient: {e}"),
        })?;
    if !recipient.is_group() {
        return Ok(match address(&recipient) {
            Some(a) => Principal::Users(vec![a]),
            None => Principal::Skipped("the recipient has no SMTP address".into()),
        });
    }
    expand(client, nested, &recipient)
        .await
        .map(Principal::Users)
}

fn address(r: &Recipient) -> Option<String> {
    r.primary_smtp_address
        .as_deref()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| crate::addresses::is_valid(a))
}

/// A group's members' addresses: direct members, or with `nested` every level, each group
/// expanded once (so a cycle ends).
async fn expand(
    client: &Client,
    nested: bool,
    group: &Recipient,
) -> Result<Vec<String>, CallError> {
    let mut users = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = group.identity().map(str::to_owned).into_iter().collect();
    // Bounded by the groups of the tenant: each is expanded once.
    while let Some(identity) = todo.pop() {
        if !seen.insert(identity.to_lowercase()) {
            continue;
        }
        let body = json!({"CmdletInput": {"CmdletName": "Get-DistributionGroupMember", "Parameters": {"Identity": identity}}});
        let members = client
            .invoke_all(&body, &format!("members of group {identity}"))
            .await?;
        for m in members {
            let Ok(member) = serde_json::from_value::<Recipient>(m) else {
                continue;
            };
            if member.is_group() {
                if nested {
                    todo.extend(member.identity().map(str::to_owned));
                }
            } else if let Some(a) = address(&member) {
                users.insert(a);
            }
        }
    }
    Ok(users.into_iter().collect())
}

/// The object ids of the source filter groups' members (transitive with `nested`).
async fn filter(
    client: &Client,
    cfg: &ExchangeOnlineConfig,
) -> Result<BTreeSet<String>, CallError> {
    let relation = if cfg.nested {
        "transitiveMembers"
    } else {
        "members"
    };
    let mut ids = BTreeSet::new();
    for group in &cfg.source_filter_groups {
        let group = group.trim();
        let url = client.graph_url(&format!(
            "groups/{group}/{relation}?$select=id,mail&$top=999"
        ));
        let items = client
            .all_pages(
                Audience::Graph,
                &url,
                &format!("source filter group {group}"),
            )
            .await?;
        for item in items {
            if let Ok(o) = serde_json::from_value::<DirectoryObject>(item) {
                if o.odata_type.as_deref() != Some("#microsoft.graph.group") {
                    ids.extend(o.id.map(|id| id.to_lowercase()));
                }
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_encoded_for_the_url() {
        assert_eq!(
            permission_path("info@contoso.nl"),
            "Mailbox('aW5mb0Bjb250b3NvLm5s')/MailboxPermission?isEncoded=true"
        );
        assert_eq!(
            permission_path("???"),
            "Mailbox('Pz8%2F')/MailboxPermission?isEncoded=true"
        );
        assert_eq!(
            recipient_path("O'Brien Sales"),
            "Recipient('O''Brien%20Sales')"
        );
    }
}
