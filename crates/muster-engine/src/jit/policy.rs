//! `[targets.<name>] jit = …`: whether a sign-in may create an account in a target, and for
//! whom. Checked after the rules (which must grant an account, as in a scheduled run) and
//! before anything is sent. Pure.

use muster_core::domains::DomainFilter;
use muster_core::evaluate::Evaluation;
use muster_core::mapping::FieldAction;
use muster_core::model::{IdentityKind, Person};

/// A target's sign-in policy (`jit = true` or `jit = { … }`); absent: no account at sign-in.
#[derive(Debug, Clone, PartialEq)]
pub struct JitPolicy {
    /// `allowed_domains`: only addresses in these domains get an account at sign-in (checked
    /// on the target's address field, as `included_domains` is). `None`: any address the
    /// target's own `included_domains` lets through.
    pub allowed_domains: Option<DomainFilter>,
    /// `identities`: who may get an account at sign-in.
    pub identities: Identities,
}

/// `identities = "users"` (the default) or `"all"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Identities {
    /// Persons only: never an identity that is no one's, such as a shared mailbox (Zivver's
    /// own JIT creates user accounts only).
    #[default]
    Users,
    /// Every identity the source yields.
    All,
}

impl std::str::FromStr for Identities {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "users" => Ok(Self::Users),
            "all" => Ok(Self::All),
            other => Err(format!("expected \"users\" or \"all\", not {other:?}")),
        }
    }
}

impl JitPolicy {
    /// Why `person` (evaluated as `evaluation`) may not get an account at sign-in here, if not.
    pub fn refuses(&self, person: &Person, evaluation: &Evaluation) -> Option<String> {
        if self.identities == Identities::Users && person.kind != IdentityKind::Person {
            return Some(format!(
                "{} is not a person ({:?}); accounts are created at sign-in for users only \
                 (`identities = \"users\"`)",
                person.external_id, person.kind
            ));
        }
        let filter = self.allowed_domains.as_ref()?;
        let address = evaluation
            .fields
            .get(FieldAction::Create, filter.field())
            .and_then(|v| v.as_str());
        match address {
            Some(a) if filter.includes(a) => None,
            Some(a) => Some(format!(
                "{} = {a:?} is not in a domain allowed at sign-in (`jit.allowed_domains`)",
                filter.field()
            )),
            None => Some(format!(
                "no {} to check against the domains allowed at sign-in",
                filter.field()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster_core::domains::OutsideDomains;
    use muster_core::evaluate::{AccountState, FieldValues};
    use muster_core::mapping::ActionSet;

    fn evaluation(user_name: Option<&str>) -> Evaluation {
        let mut fields = FieldValues::default();
        if let Some(u) = user_name {
            fields.set(
                &"userName".into(),
                serde_json::json!(u),
                ActionSet::only(FieldAction::Create),
            );
        }
        Evaluation {
            person: "p1".into(),
            state: AccountState::Enabled,
            why: String::new(),
            fields,
            permissions: Default::default(),
            correlation_value: None,
            references: Default::default(),
            errors: Vec::new(),
        }
    }

    #[test]
    fn users_only_and_allowed_domains() {
        let policy = JitPolicy {
            allowed_domains: Some(
                DomainFilter::new("userName", &["example.org".into()], OutsideDomains::Leave)
                    .unwrap(),
            ),
            identities: Identities::Users,
        };
        let mut person: Person =
            serde_json::from_value(serde_json::json!({"ExternalId": "p1"})).unwrap();
        assert_eq!(
            policy.refuses(&person, &evaluation(Some("a@Example.org"))),
            None
        );
        let outside = policy
            .refuses(&person, &evaluation(Some("a@evil.example")))
            .unwrap();
        assert!(outside.contains("not in a domain allowed"), "{outside}");
        assert!(policy.refuses(&person, &evaluation(None)).is_some());
        person.kind = IdentityKind::SharedMailbox;
        let mailbox = policy
            .refuses(&person, &evaluation(Some("a@example.org")))
            .unwrap();
        assert!(mailbox.contains("users only"), "{mailbox}");
        let all = JitPolicy {
            allowed_domains: None,
            identities: Identities::All,
        };
        assert_eq!(all.refuses(&person, &evaluation(None)), None);
    }
}
