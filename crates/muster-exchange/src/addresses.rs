//! A mailbox's addresses, by the rules of exchange-online.md §2: trim and lower-case; keep
//! entries with an `smtp:` prefix (any case) or none; `SMTP:` (capitals) is the primary; drop
//! `SIP:`, `X500:`, `SPO:` and every other prefix. Pure.

/// What a mailbox's `EmailAddresses` (and `PrimarySmtpAddress`) come to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Addresses {
    /// The primary SMTP address, lower-cased; `None` when the mailbox has none.
    pub primary: Option<String>,
    /// Every other SMTP address, lower-cased, sorted, without duplicates or the primary.
    pub aliases: Vec<String>,
    /// Secondary SMTP entries that are no address (`smtp:not an address`), as found.
    pub malformed: Vec<String>,
    /// The primary (`SMTP:` entry, else `PrimarySmtpAddress`) when it is no address.
    pub malformed_primary: Option<String>,
}

/// Reads `email_addresses` (raw, with prefixes) and `primary_field` (`PrimarySmtpAddress`,
/// used when no entry is marked `SMTP:`).
pub fn read(email_addresses: &[String], primary_field: Option<&str>) -> Addresses {
    let mut out = Addresses::default();
    let mut marked_primary = None;
    for raw in email_addresses {
        let raw = raw.trim();
        let (prefix, rest) = match raw.split_once(':') {
            Some((p, rest)) if !p.contains('@') => (Some(p), rest),
            _ => (None, raw),
        };
        let is_primary = match prefix {
            None => false,
            Some("SMTP") => true,
            Some(p) if p.eq_ignore_ascii_case("smtp") => false,
            Some(_) => continue,
        };
        let address = rest.trim().to_lowercase();
        if !is_valid(&address) {
            if is_primary {
                out.malformed_primary
                    .get_or_insert_with(|| rest.trim().to_owned());
            } else {
                out.malformed.push(rest.trim().to_owned());
            }
            continue;
        }
        if is_primary && marked_primary.is_none() {
            marked_primary = Some(address);
        } else {
            out.aliases.push(address);
        }
    }
    let field = primary_field
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty());
    out.primary = match (marked_primary, field) {
        (Some(p), _) => Some(p),
        // A malformed `SMTP:` entry is the primary: the field does not stand in for it.
        (None, _) if out.malformed_primary.is_some() => None,
        (None, Some(f)) if is_valid(&f) => Some(f),
        (None, Some(f)) => {
            out.malformed_primary = Some(f);
            None
        }
        (None, None) => None,
    };
    out.aliases.sort();
    out.aliases.dedup();
    if let Some(p) = &out.primary {
        out.aliases.retain(|a| a != p);
    }
    out
}

/// `local@domain`: a local part without spaces, `@`, control characters or dots at its ends
/// or doubled; a domain of at least two dot-separated labels of letters, digits and hyphens
/// (not at a label's ends). Checked on the lower-cased address.
pub fn is_valid(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '@' && c != '"' && c != ',');
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn keeps_smtp_and_bare_entries_and_capital_smtp_is_primary() {
        let a = read(
            &strings(&[
                "SMTP:Info@Contoso.nl",
                " smtp:info@contoso.onmicrosoft.com ",
                "smtp:Balie@contoso.nl",
                "Smtp:loket@contoso.nl",
                "extra@contoso.nl",
                "SIP:info@contoso.nl",
                "X500:/o=ExchangeLabs/ou=x",
                "SPO:SPO_abc@SPO_def",
                "smtp:BALIE@contoso.nl",
            ]),
            Some("Info@contoso.nl"),
        );
        assert_eq!(a.primary.as_deref(), Some("info@contoso.nl"));
        assert_eq!(
            a.aliases,
            [
                "balie@contoso.nl",
                "extra@contoso.nl",
                "info@contoso.onmicrosoft.com",
                "loket@contoso.nl"
            ]
        );
        assert!(a.malformed.is_empty());
    }

    #[test]
    fn the_primary_field_stands_in_when_no_entry_is_marked() {
        let a = read(&strings(&["smtp:a@x.nl"]), Some(" B@X.nl "));
        assert_eq!(a.primary.as_deref(), Some("b@x.nl"));
        assert_eq!(a.aliases, ["a@x.nl"]);
        let none = read(&strings(&["SIP:a@x.nl"]), Some(""));
        assert_eq!(none.primary, None);
    }

    #[test]
    fn malformed_addresses_are_reported_not_kept() {
        let a = read(
            &strings(&["SMTP:not an address", "smtp:x@y", "smtp:ok@x.nl"]),
            None,
        );
        assert_eq!(a.primary, None);
        assert_eq!(a.aliases, ["ok@x.nl"]);
        assert_eq!(a.malformed, ["x@y"]);
        assert_eq!(a.malformed_primary.as_deref(), Some("not an address"));
        let field = read(&[], Some("Jan at contoso"));
        assert_eq!(field.malformed_primary.as_deref(), Some("jan at contoso"));
        for bad in [
            "@x.nl", "a@", "a@x..nl", "a b@x.nl", ".a@x.nl", "a@-x.nl", "a@x_y.nl",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
        for good in ["a@x.nl", "a.b+c@sub.x-y.nl", "o'brien@x.nl"] {
            assert!(is_valid(good), "{good}");
        }
    }
}
