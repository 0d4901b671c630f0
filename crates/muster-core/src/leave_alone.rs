//! A target's filter of accounts Muster never touches (Zivver Cloud Sync's *target filter*: a
//! supplier's administrator, a partner's domain). An account whose address is listed, or is in
//! a listed domain, is not updated, enabled, disabled, deleted, granted or revoked, no person is
//! created or correlated onto it, and it does not count in the accounts a fail-safe compares
//! with. Pure; [`LeaveAlone::covers`] is the one decision, and `plan::diff` acts on it.

use crate::connector::ObservedAccount;

/// The accounts and domains of one target that are never touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveAlone {
    /// The account field whose address is checked (the target's `domain_field`).
    field: String,
    /// Lower-cased addresses (or account ids).
    accounts: Vec<String>,
    /// Lower-cased domains, matched exactly (list subdomains on their own).
    domains: Vec<String>,
}

impl LeaveAlone {
    /// `accounts` are addresses in `field` (or the target's ids for accounts), `domains` whole
    /// domains; both compared ignoring case. `Err` says which entry is unusable.
    pub fn new(
        field: impl Into<String>,
        accounts: &[String],
        domains: &[String],
    ) -> Result<Self, String> {
        let field = field.into();
        if field.trim().is_empty() {
            return Err("expected the account field that holds the address".into());
        }
        if accounts.is_empty() && domains.is_empty() {
            return Err(
                "expected `accounts` or `domains` (or both), e.g. domains = [\"supplier.example\"]"
                    .into(),
            );
        }
        let mut lower_accounts = Vec::with_capacity(accounts.len());
        for a in accounts {
            let a = a.trim().to_lowercase();
            if a.is_empty() {
                return Err(
                    "an empty entry in `accounts`: expected an address or an account id".into(),
                );
            }
            lower_accounts.push(a);
        }
        let mut lower_domains = Vec::with_capacity(domains.len());
        for d in domains {
            let d = d.trim().to_lowercase();
            let valid = !d.is_empty()
                && !d.starts_with('.')
                && !d.ends_with('.')
                && d.chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
            if !valid {
                return Err(format!(
                    "{d:?} is not a domain: expected a name such as \"supplier.example\", without `@`"
                ));
            }
            lower_domains.push(d);
        }
        Ok(Self {
            field,
            accounts: lower_accounts,
            domains: lower_domains,
        })
    }

    /// The account field whose address is checked.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Why `address` is never touched, or `None` when the filter does not cover it.
    pub fn covers(&self, address: &str) -> Option<String> {
        let address = address.trim().to_lowercase();
        if address.is_empty() {
            return None;
        }
        if self.accounts.contains(&address) {
            return Some(format!(
                "{} {address:?} is in this target's leave_alone accounts: never touched",
                self.field
            ));
        }
        let domain = address.rsplit_once('@').map(|(_, d)| d)?;
        self.domains.iter().any(|d| d == domain).then(|| {
            format!(
                "{} {address:?} is in a leave_alone domain ({domain}): never touched",
                self.field
            )
        })
    }

    /// Why this account is never touched: its address in [`field`](Self::field) or its id is
    /// covered.
    pub fn covers_account(&self, account: &ObservedAccount) -> Option<String> {
        let address = account
            .attributes
            .get(&self.field)
            .and_then(serde_json::Value::as_str);
        if let Some(why) = address.and_then(|a| self.covers(a)) {
            return Some(why);
        }
        let id = account.reference.as_str().to_lowercase();
        self.accounts.contains(&id).then(|| {
            format!(
                "account {} is in this target's leave_alone accounts: never touched",
                account.reference
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> LeaveAlone {
        LeaveAlone::new(
            "userName",
            &["Admin@Example.org".to_owned()],
            &["Supplier.example".to_owned()],
        )
        .unwrap()
    }

    #[test]
    fn listed_addresses_and_domains_are_covered_ignoring_case() {
        let f = filter();
        assert!(f.covers("admin@example.org").is_some());
        assert!(f.covers(" ADMIN@example.org ").is_some());
        assert!(f.covers("beheer@supplier.example").is_some());
        assert!(f.covers("BEHEER@SUPPLIER.EXAMPLE").is_some());
        assert!(f.covers("jan@example.org").is_none());
        assert!(
            f.covers("a@mail.supplier.example").is_none(),
            "subdomains are listed on their own"
        );
        assert!(f.covers("a@supplier.example.evil").is_none());
        assert!(f.covers("").is_none());
        let why = f.covers("beheer@supplier.example").unwrap();
        assert!(
            why.contains("leave_alone domain (supplier.example)"),
            "{why}"
        );
    }

    #[test]
    fn unusable_settings_say_what_is_expected() {
        assert!(LeaveAlone::new("userName", &[], &[])
            .unwrap_err()
            .contains("expected `accounts` or `domains`"));
        assert!(LeaveAlone::new("userName", &[], &["@x.nl".into()])
            .unwrap_err()
            .contains("is not a domain"));
        assert!(LeaveAlone::new("userName", &[" ".into()], &[])
            .unwrap_err()
            .contains("empty entry"));
        assert!(LeaveAlone::new(" ", &["a@b.c".into()], &[]).is_err());
    }
}
