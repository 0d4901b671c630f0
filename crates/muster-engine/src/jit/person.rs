//! The person a sign-in is about: the HR record of the last snapshot wins for every field it
//! has, and the sign-in's claims fill the rest. The claims say who signed in; HR is the
//! source of truth for everything it knows (name, contracts), as in a scheduled run.

use crate::error::EngineError;
use muster_core::model::Person;
use serde_json::Value;

/// `hr` (a snapshot record) over `claims`: a field HR has (not null, not an empty list) is
/// HR's; any other comes from the claims; tables are merged field by field.
pub fn merged(hr: &Value, claims: Person) -> Result<Person, EngineError> {
    let key = claims.external_id.clone();
    let claims = serde_json::to_value(&claims).map_err(|error| EngineError::Snapshot {
        person: key.to_string(),
        error,
    })?;
    serde_json::from_value(over(hr, claims)).map_err(|error| EngineError::Snapshot {
        person: key.to_string(),
        error,
    })
}

fn over(hr: &Value, claims: Value) -> Value {
    match (hr, claims) {
        (Value::Object(h), Value::Object(mut c)) => {
            for (k, v) in h {
                let merged = match c.remove(k) {
                    Some(cv) => over(v, cv),
                    None => v.clone(),
                };
                c.insert(k.clone(), merged);
            }
            Value::Object(c)
        }
        (Value::Null, c) => c,
        (Value::Array(a), c) if a.is_empty() => c,
        (Value::String(s), c) if s.is_empty() => c,
        (h, _) => h.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hr_wins_for_what_it_has_and_claims_fill_the_rest() {
        let claims: Person = serde_json::from_value(json!({
            "ExternalId": "10001",
            "Name": {"GivenName": "Em", "FamilyName": "Dijk"},
            "Contact": {"Business": {"Email": "e.vandijk@example.org", "PhoneMobile": "+31 6"}},
        }))
        .unwrap();
        let hr = json!({
            "ExternalId": "10001",
            "Name": {"GivenName": "Emma", "FamilyName": "Dijk", "FamilyNamePrefix": "van"},
            "Contact": {"Business": {"Email": "e.vandijk@example.org"}},
            "Contracts": [{"ExternalId": "10001-1", "Department": "Finance"}],
        });
        let p = merged(&hr, claims).unwrap();
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["Name"]["GivenName"], "Emma", "HR wins");
        assert_eq!(v["Name"]["FamilyNamePrefix"], "van");
        assert_eq!(
            v["Contact"]["Business"]["PhoneMobile"], "+31 6",
            "claims fill the rest"
        );
        assert_eq!(p.contracts.len(), 1);
    }
}
