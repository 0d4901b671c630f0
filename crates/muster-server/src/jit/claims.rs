//! Claims → person, without I/O: the configured claim → person-field map
//! (`claims = { "mail" = "Contact.Business.Email", … }`) and the checks every mapped claim
//! passes first (text only, no control character, bounded length, e-mail addresses in an
//! allowed domain). The person is keyed on the identity provider's stable subject
//! (issuer + `sub`, Entra `tid` + `oid`), never on the mutable e-mail address, unless a claim
//! is mapped to `ExternalId` (e.g. an employee number the HR source also uses).

use muster_core::model::PersonPath;
use muster_core::{ExternalId, Person};
use serde_json::{Map, Value};

/// Longest claim value accepted, in characters.
pub const MAX_CLAIM_CHARS: usize = 512;

/// The fields a claim may set: identity, name and contact data. Contracts stay with the HR
/// source (the engine merges the person's last HR record).
const SETTABLE: &str = "ExternalId, DisplayName, Name.*, Contact.Business.* or Contact.Personal.*, Accounts.<System>.<field>";

/// Claim → person field, checked: every field is one a claim may set, and no field is set by
/// two claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMap {
    entries: Vec<(String, PersonPath)>,
}

/// Why the claims of a sign-in are refused (a 400 and an audit line; never an account).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("claim `{claim}` is not text (expected a string)")]
    NotText { claim: String },
    #[error("claim `{claim}` holds a control character")]
    ControlCharacter { claim: String },
    #[error("claim `{claim}` is longer than {MAX_CLAIM_CHARS} characters")]
    TooLong { claim: String },
    #[error("claim `{claim}` is not an e-mail address")]
    NotAnAddress { claim: String },
    #[error("claim `{claim}` is in domain `{domain}`, which is not one of the allowed domains")]
    ForeignDomain { claim: String, domain: String },
    #[error("the sign-in names no subject")]
    NoSubject,
}

impl ClaimMap {
    /// A map from `(claim, field path)` pairs; the message names what is wrong.
    pub fn new<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Result<Self, String> {
        let mut entries: Vec<(String, PersonPath)> = Vec::new();
        for (claim, field) in pairs {
            if claim.trim().is_empty() {
                return Err("a claim name is empty".to_owned());
            }
            let path = PersonPath::parse(&field).map_err(|e| format!("claim `{claim}`: {e}"))?;
            if !settable(&path) {
                return Err(format!(
                    "claim `{claim}` maps to `{field}`, which a sign-in cannot set: expected {SETTABLE}"
                ));
            }
            if let Some((other, _)) = entries.iter().find(|(_, p)| *p == path) {
                return Err(format!(
                    "claims `{other}` and `{claim}` both map to `{path}`: map each field once"
                ));
            }
            entries.push((claim, path));
        }
        Ok(Self { entries })
    }

    /// Made from `pairs` known to be valid (the built-in defaults).
    pub fn defaults(pairs: &[(&str, &str)]) -> Self {
        let pairs = pairs
            .iter()
            .map(|(c, f)| ((*c).to_owned(), (*f).to_owned()));
        Self::new(pairs).unwrap_or(Self {
            entries: Vec::new(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The person these claims describe, keyed on `subject` unless a claim is mapped to
    /// `ExternalId`. Claims absent or null leave their field empty; `domains` (lower case;
    /// empty: any) bounds every e-mail address.
    pub fn person(
        &self,
        subject: &str,
        claims: &Map<String, Value>,
        domains: &[String],
    ) -> Result<Person, ClaimError> {
        check_text("sub", subject)?;
        if subject.is_empty() {
            return Err(ClaimError::NoSubject);
        }
        let mut person = Person::new(subject);
        for (claim, path) in &self.entries {
            let Some(value) = claim_text(claim, claims.get(claim))? else {
                continue;
            };
            if is_email(path) {
                check_domain(claim, &value, domains)?;
            }
            set(&mut person, path, value);
        }
        Ok(person)
    }
}

fn settable(path: &PersonPath) -> bool {
    matches!(
        path,
        PersonPath::ExternalId
            | PersonPath::DisplayName
            | PersonPath::Name(_)
            | PersonPath::Contact { .. }
            | PersonPath::Account { .. }
    )
}

fn is_email(path: &PersonPath) -> bool {
    matches!(path, PersonPath::Contact { field: "Email", .. })
}

/// A claim's text: a string (or the first of a list of strings), a number or a boolean as
/// written; `None` when absent, null or empty.
fn claim_text(claim: &str, value: Option<&Value>) -> Result<Option<String>, ClaimError> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Array(list)) => match list.as_slice() {
            [] => return Ok(None),
            [Value::String(s), ..] => s.clone(),
            _ => {
                return Err(ClaimError::NotText {
                    claim: claim.to_owned(),
                })
            }
        },
        Some(Value::Object(_)) => {
            return Err(ClaimError::NotText {
                claim: claim.to_owned(),
            })
        }
    };
    check_text(claim, &text)?;
    let text = text.trim().to_owned();
    Ok((!text.is_empty()).then_some(text))
}

/// No control character (line breaks forge log lines and CSV rows), bounded length.
pub fn check_text(claim: &str, text: &str) -> Result<(), ClaimError> {
    if text.chars().any(char::is_control) {
        return Err(ClaimError::ControlCharacter {
            claim: claim.to_owned(),
        });
    }
    if text.chars().count() > MAX_CLAIM_CHARS {
        return Err(ClaimError::TooLong {
            claim: claim.to_owned(),
        });
    }
    Ok(())
}

fn check_domain(claim: &str, address: &str, domains: &[String]) -> Result<(), ClaimError> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(ClaimError::NotAnAddress {
            claim: claim.to_owned(),
        });
    };
    if local.is_empty() || domain.is_empty() || domain.contains(char::is_whitespace) {
        return Err(ClaimError::NotAnAddress {
            claim: claim.to_owned(),
        });
    }
    let domain = domain.to_ascii_lowercase();
    if domains.is_empty() || domains.contains(&domain) {
        Ok(())
    } else {
        Err(ClaimError::ForeignDomain {
            claim: claim.to_owned(),
            domain,
        })
    }
}

fn set(person: &mut Person, path: &PersonPath, value: String) {
    match path {
        PersonPath::ExternalId => person.external_id = ExternalId::new(value),
        PersonPath::DisplayName => person.display_name = Some(value),
        PersonPath::Name(field) => {
            let n = &mut person.name;
            let slot = match *field {
                "GivenName" => &mut n.given_name,
                "NickName" => &mut n.nick_name,
                "FamilyName" => &mut n.family_name,
                "FamilyNamePrefix" => &mut n.family_name_prefix,
                "FamilyNamePartner" => &mut n.family_name_partner,
                "FamilyNamePartnerPrefix" => &mut n.family_name_partner_prefix,
                "Convention" => &mut n.convention,
                _ => &mut n.initials,
            };
            *slot = Some(value);
        }
        PersonPath::Contact { business, field } => {
            let point = if *business {
                &mut person.contact.business
            } else {
                &mut person.contact.personal
            };
            let slot = match *field {
                "Email" => &mut point.email,
                "PhoneFixed" => &mut point.phone_fixed,
                _ => &mut point.phone_mobile,
            };
            *slot = Some(value);
        }
        PersonPath::Account { system, field } => {
            person
                .accounts
                .entry(system.clone())
                .or_default()
                .insert(field.clone(), Value::String(value));
        }
        PersonPath::Custom(name) => {
            person.custom.insert(name.clone(), Value::String(value));
        }
        // Refused by `ClaimMap::new`.
        PersonPath::Contract(..) | PersonPath::ContractPart(..) => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn map() -> ClaimMap {
        ClaimMap::defaults(&[
            ("mail", "Contact.Business.Email"),
            ("givenName", "Name.GivenName"),
            ("surname", "Name.FamilyName"),
            ("displayName", "DisplayName"),
            ("upn", "Accounts.Entra.userPrincipalName"),
        ])
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn claims_fill_the_mapped_fields_and_the_subject_keys_the_person() {
        let p = map()
            .person(
                "entra:tid:oid",
                &claims(json!({"mail": "Jan@Contoso.nl", "givenName": "Jan", "surname": "de Vries", "displayName": "Jan de Vries", "upn": "jan@contoso.nl", "other": "\n"})),
                &["contoso.nl".to_owned()],
            )
            .unwrap();
        assert_eq!(p.external_id.as_str(), "entra:tid:oid");
        assert_eq!(p.contact.business.email.as_deref(), Some("Jan@Contoso.nl"));
        assert_eq!(p.name.given_name.as_deref(), Some("Jan"));
        assert_eq!(p.name.family_name.as_deref(), Some("de Vries"));
        assert_eq!(p.display_name.as_deref(), Some("Jan de Vries"));
        assert_eq!(p.accounts["Entra"]["userPrincipalName"], "jan@contoso.nl");
    }

    #[test]
    fn a_claim_mapped_to_external_id_keys_the_person() {
        let m = ClaimMap::defaults(&[("employeeId", "ExternalId")]);
        let p = m
            .person("s", &claims(json!({"employeeId": 1042})), &[])
            .unwrap();
        assert_eq!(p.external_id.as_str(), "1042");
    }

    #[test]
    fn bad_claims_are_refused() {
        let m = map();
        let none: &[String] = &[];
        let e = m
            .person(
                "s",
                &claims(json!({"givenName": "Jan\r\nX-Forged: 1"})),
                none,
            )
            .unwrap_err();
        assert!(matches!(e, ClaimError::ControlCharacter { .. }), "{e}");
        let e = m
            .person("s", &claims(json!({"givenName": {"a": 1}})), none)
            .unwrap_err();
        assert!(matches!(e, ClaimError::NotText { .. }), "{e}");
        let e = m
            .person("s", &claims(json!({"givenName": "x".repeat(513)})), none)
            .unwrap_err();
        assert!(matches!(e, ClaimError::TooLong { .. }), "{e}");
        let e = m
            .person(
                "s",
                &claims(json!({"mail": "eve@evil.example"})),
                &["contoso.nl".to_owned()],
            )
            .unwrap_err();
        assert_eq!(
            e,
            ClaimError::ForeignDomain {
                claim: "mail".into(),
                domain: "evil.example".into()
            }
        );
        let e = m
            .person("s", &claims(json!({"mail": "no-at-sign"})), none)
            .unwrap_err();
        assert!(matches!(e, ClaimError::NotAnAddress { .. }), "{e}");
        assert_eq!(
            m.person("", &claims(json!({})), none).unwrap_err(),
            ClaimError::NoSubject
        );
        assert!(matches!(
            m.person("a\u{0}b", &claims(json!({})), none).unwrap_err(),
            ClaimError::ControlCharacter { .. }
        ));
    }

    #[test]
    fn the_map_is_checked() {
        let pair = |c: &str, f: &str| vec![(c.to_owned(), f.to_owned())];
        let e = ClaimMap::new(pair("dept", "PrimaryContract.Department")).unwrap_err();
        assert!(e.contains("cannot set"), "{e}");
        let e = ClaimMap::new(pair("x", "Nope.Field")).unwrap_err();
        assert!(e.contains("unknown person field"), "{e}");
        let mut two = pair("mail", "Contact.Business.Email");
        two.extend(pair("upn", "contact.business.email"));
        let e = ClaimMap::new(two).unwrap_err();
        assert!(e.contains("both map to"), "{e}");
    }
}
