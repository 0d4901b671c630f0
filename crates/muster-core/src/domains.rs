//! The domain filter of a target: only persons whose address is in one of the organisation's
//! domains get an account there (Zivver refuses any other address: "Account is outside the
//! organization"). Outside, nothing is created; an existing account is left alone or disabled,
//! as the target's `outside_domains` says. Pure; [`DomainFilter::decide`] is the one place the
//! decision is made, and `plan::diff` acts on it.

use std::fmt;
use std::str::FromStr;

/// What happens to an existing account whose address is outside the domains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutsideDomains {
    /// Left as it is: no update, enable, disable, delete, grant or revoke (the default).
    #[default]
    Leave,
    /// Disabled (once), and otherwise left as it is.
    Disable,
}

impl FromStr for OutsideDomains {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "leave" => Ok(Self::Leave),
            "disable" => Ok(Self::Disable),
            other => Err(format!("expected \"leave\" or \"disable\", not {other:?}")),
        }
    }
}

impl fmt::Display for OutsideDomains {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Leave => "leave",
            Self::Disable => "disable",
        })
    }
}

/// A target's included domains and the account field whose address is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainFilter {
    field: String,
    /// Lower-cased, at least one.
    domains: Vec<String>,
    outside: OutsideDomains,
}

/// What the plan does with one person under the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainVerdict {
    /// The address is in a domain: planned as usual.
    Inside,
    /// Nothing is planned for the person in this target (not created, or left alone); the
    /// plan holds them with the reason.
    Hold(String),
    /// Only a Disable of the existing account is planned, with the reason.
    Disable(String),
}

/// The person's existing account in the target, as far as the filter cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// No account: one would be created.
    None,
    Enabled,
    Disabled,
    /// The target has no enabled flag (it cannot disable).
    NoFlag,
}

impl DomainFilter {
    /// `domains` are matched exactly, ignoring case (`example.org` does not cover
    /// `mail.example.org`: list it too). `Err` says which domain is not one.
    pub fn new(
        field: impl Into<String>,
        domains: &[String],
        outside: OutsideDomains,
    ) -> Result<Self, String> {
        let field = field.into();
        if field.trim().is_empty() {
            return Err("expected the account field that holds the address".into());
        }
        if domains.is_empty() {
            return Err("expected at least one domain, e.g. [\"example.org\"]".into());
        }
        let mut lower = Vec::with_capacity(domains.len());
        for d in domains {
            let d = d.trim().to_lowercase();
            let valid = !d.is_empty()
                && !d.starts_with('.')
                && !d.ends_with('.')
                && d.chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
            if !valid {
                return Err(format!(
                    "{d:?} is not a domain: expected a name such as \"example.org\", without `@`"
                ));
            }
            lower.push(d);
        }
        Ok(Self {
            field,
            domains: lower,
            outside,
        })
    }

    /// The account field whose address is checked, e.g. `userName`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Whether `address` is in one of the domains (the part after its last `@`).
    pub fn includes(&self, address: &str) -> bool {
        address
            .trim()
            .rsplit_once('@')
            .is_some_and(|(local, domain)| {
                !local.is_empty() && self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
            })
    }

    /// What to plan for a person whose address in this target is `address` (`None`: the
    /// mappings give none), given their existing account.
    pub fn decide(&self, address: Option<&str>, existing: Existing) -> DomainVerdict {
        let address = address.map(str::trim).filter(|a| !a.is_empty());
        if address.is_some_and(|a| self.includes(a)) {
            return DomainVerdict::Inside;
        }
        let domains = self.domains.join(", ");
        let why = match address {
            Some(a) => format!(
                "{} {a:?} is outside this target's domains ({domains})",
                self.field
            ),
            None => format!(
                "no {} to check against this target's domains ({domains})",
                self.field
            ),
        };
        match (existing, self.outside) {
            (Existing::None, _) => DomainVerdict::Hold(format!("{why}: not created")),
            (_, OutsideDomains::Leave) => DomainVerdict::Hold(format!(
                "{why}: its account is left alone (outside_domains = \"leave\")"
            )),
            (Existing::Enabled, OutsideDomains::Disable) => {
                DomainVerdict::Disable(format!("{why}: disabled (outside_domains = \"disable\")"))
            }
            (Existing::Disabled, OutsideDomains::Disable) => {
                DomainVerdict::Hold(format!("{why}: its account stays disabled"))
            }
            (Existing::NoFlag, OutsideDomains::Disable) => DomainVerdict::Hold(format!(
                "{why}: its account is left alone, as this target cannot disable accounts"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(outside: OutsideDomains) -> DomainFilter {
        DomainFilter::new(
            "userName",
            &["Example.org".to_owned(), "school.example".to_owned()],
            outside,
        )
        .unwrap()
    }

    #[test]
    fn addresses_in_a_listed_domain_are_inside_ignoring_case() {
        let f = filter(OutsideDomains::Leave);
        assert!(f.includes("j.jansen@example.org"));
        assert!(f.includes("J.Jansen@EXAMPLE.ORG"));
        assert!(f.includes("a@school.example"));
        assert!(
            !f.includes("a@mail.example.org"),
            "subdomains are listed on their own"
        );
        assert!(!f.includes("a@example.org.evil"));
        assert!(!f.includes("@example.org"));
        assert!(!f.includes("example.org"));
        assert_eq!(
            f.decide(Some("a@example.org"), Existing::None),
            DomainVerdict::Inside
        );
    }

    #[test]
    fn a_person_outside_is_not_created_with_the_reason() {
        let f = filter(OutsideDomains::Disable);
        assert_eq!(
            f.decide(Some("p@gmail.com"), Existing::None),
            DomainVerdict::Hold(
                "userName \"p@gmail.com\" is outside this target's domains (example.org, school.example): not created".into()
            )
        );
        let DomainVerdict::Hold(why) = f.decide(None, Existing::None) else {
            panic!("no address is outside");
        };
        assert!(why.starts_with("no userName to check"), "{why}");
    }

    #[test]
    fn an_existing_account_outside_is_left_alone_or_disabled_by_the_setting() {
        let leave = filter(OutsideDomains::Leave);
        let DomainVerdict::Hold(why) = leave.decide(Some("p@gmail.com"), Existing::Enabled) else {
            panic!("leave holds");
        };
        assert!(
            why.ends_with("left alone (outside_domains = \"leave\")"),
            "{why}"
        );

        let disable = filter(OutsideDomains::Disable);
        let DomainVerdict::Disable(why) = disable.decide(Some("p@gmail.com"), Existing::Enabled)
        else {
            panic!("disable disables");
        };
        assert!(
            why.ends_with("disabled (outside_domains = \"disable\")"),
            "{why}"
        );
        assert!(matches!(
            disable.decide(Some("p@gmail.com"), Existing::Disabled),
            DomainVerdict::Hold(w) if w.ends_with("stays disabled")
        ));
        assert!(matches!(
            disable.decide(Some("p@gmail.com"), Existing::NoFlag),
            DomainVerdict::Hold(w) if w.contains("cannot disable")
        ));
    }

    #[test]
    fn a_filter_needs_real_domains() {
        let none = DomainFilter::new("userName", &[], OutsideDomains::Leave);
        assert!(none.unwrap_err().contains("at least one domain"));
        let at = DomainFilter::new("userName", &["@example.org".into()], OutsideDomains::Leave);
        assert!(at.unwrap_err().contains("without `@`"));
        assert_eq!(
            "disable".parse::<OutsideDomains>(),
            Ok(OutsideDomains::Disable)
        );
        assert!("delete".parse::<OutsideDomains>().is_err());
    }
}
