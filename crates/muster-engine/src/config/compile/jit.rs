//! `[targets.<name>] jit = true | { enabled, allowed_domains, identities, create_only }` →
//! [`JitPolicy`], with every problem reported at its line.

use super::super::raw::RawJit;
use super::Compiler;
use crate::jit::{Identities, JitPolicy};
use muster_core::domains::{DomainFilter, OutsideDomains};
use muster_core::mapping::FieldMapping;
use std::collections::BTreeSet;
use toml::Spanned;

impl Compiler<'_> {
    /// The target's sign-in policy; `None` when off (or unusable, after reporting why).
    /// `address_field`: the account field `allowed_domains` checks (the target's
    /// `domain_field`, else its kind's).
    pub(super) fn jit(
        &mut self,
        key: &str,
        raw: Option<Spanned<toml::Value>>,
        address_field: Option<&str>,
        mappings: &[FieldMapping],
        unique: &BTreeSet<String>,
    ) -> Option<JitPolicy> {
        let raw = raw?;
        let span = raw.span();
        let key = format!("{key}.jit");
        let table = match raw.into_inner() {
            toml::Value::Boolean(false) => return None,
            toml::Value::Boolean(true) => RawJit {
                enabled: true,
                allowed_domains: None,
                identities: None,
                create_only: None,
            },
            toml::Value::Table(t) => match toml::Value::Table(t).try_into::<RawJit>() {
                Ok(t) => t,
                Err(e) => {
                    self.err(Some(span), key, e.message().to_owned());
                    return None;
                }
            },
            other => {
                self.err(
                    Some(span),
                    key,
                    format!(
                        "expected true, false or a table such as {{ allowed_domains = [\"example.org\"] }}, not {}",
                        other.type_str()
                    ),
                );
                return None;
            }
        };
        if !table.enabled {
            return None;
        }
        let mut ok = true;
        if table.create_only == Some(false) {
            self.err(
                Some(span.clone()),
                format!("{key}.create_only"),
                "only creating is supported at sign-in: updates, renames, disables and deletes stay with the scheduled run; remove the key or set it to true",
            );
            ok = false;
        }
        if let Some(field) = unique.iter().next() {
            self.err(
                Some(span.clone()),
                key.clone(),
                format!("a sign-in cannot create accounts in a target with unique fields (`{field}`): a unique value is settled against every person in a scheduled run"),
            );
            ok = false;
        }
        let identities = match table.identities.as_deref().map(str::parse::<Identities>) {
            None => Identities::default(),
            Some(Ok(i)) => i,
            Some(Err(message)) => {
                self.err(Some(span.clone()), format!("{key}.identities"), message);
                ok = false;
                Identities::default()
            }
        };
        let allowed_domains = match table.allowed_domains {
            None => None,
            Some(domains) => {
                let field = address_field?.to_owned();
                if !mappings.iter().any(|m| m.field == field) {
                    self.err(
                        Some(span.clone()),
                        format!("{key}.allowed_domains"),
                        format!("checks the field `{field}`, which no mapping writes: map it"),
                    );
                    return None;
                }
                match DomainFilter::new(field, &domains, OutsideDomains::Leave) {
                    Ok(f) => Some(f),
                    Err(message) => {
                        self.err(Some(span), format!("{key}.allowed_domains"), message);
                        return None;
                    }
                }
            }
        };
        ok.then_some(JitPolicy {
            allowed_domains,
            identities,
        })
    }
}
