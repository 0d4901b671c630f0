//! Reading request bodies into the simulator's own input types (helloid.md §2, §4.2, §4.6).
//!
//! HelloID's clients send booleans as JSON booleans or as strings in any case (`"TRUE"`,
//! `"false"`), so both are read here, once. Unknown fields are ignored, as a lenient JSON API
//! does; a known field of the wrong type is a 400 naming it.

use serde_json::{Map, Value};

use super::error::HelloIdError;

/// A field that may be absent, explicitly `null`, or set.
pub type Field<T> = Option<Option<T>>;

/// A user as read from a `POST /users` or `PUT /users/{guid}` body.
#[derive(Debug, Default, Clone)]
pub struct UserInput {
    /// Top-level `userName`: the name on create, ignored on update.
    pub user_name: Option<String>,
    pub first_name: Field<String>,
    pub last_name: Field<String>,
    pub contact_email: Field<String>,
    pub is_enabled: Option<bool>,
    pub must_change_password: Option<bool>,
    pub source: Field<String>,
    pub managed_by: Field<String>,
    /// `userAttributes` key by key; a `null` value removes the key on update.
    pub attributes: Option<Map<String, Value>>,
    /// Write-only, read on create only.
    pub password: Option<String>,
    /// `IdentifierObject.userName`: the new name on update.
    pub rename: Option<String>,
}

/// Reads a boolean sent as JSON or as a string, ignoring case and surrounding spaces.
pub fn boolean(value: &Value, field: &str) -> Result<bool, HelloIdError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(HelloIdError::invalid_value(field)),
    }
}

/// The object a body must be.
pub fn object(body: &Value) -> Result<&Map<String, Value>, HelloIdError> {
    body.as_object()
        .ok_or_else(|| HelloIdError::bad("The request body must be a JSON object"))
}

/// A string field: absent, `null`, or a string.
pub fn string(obj: &Map<String, Value>, field: &str) -> Result<Field<String>, HelloIdError> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(HelloIdError::invalid_value(field)),
    }
}

/// A string field that must be present and not blank.
pub fn required(obj: &Map<String, Value>, field: &str) -> Result<String, HelloIdError> {
    match string(obj, field)? {
        Some(Some(s)) if !s.trim().is_empty() => Ok(s),
        _ => Err(HelloIdError::required(field)),
    }
}

/// An optional boolean field; `null` counts as absent.
pub fn opt_boolean(obj: &Map<String, Value>, field: &str) -> Result<Option<bool>, HelloIdError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => boolean(v, field).map(Some),
    }
}

/// Whether `s` is written like a GUID (`8-4-4-4-12` hex digits).
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Reads a user body. `managedByUserGUID` must look like a GUID (an empty string means none);
/// whether that user exists is not checked, since full-object PUTs echo whatever a GET showed.
pub fn user(body: &Value) -> Result<UserInput, HelloIdError> {
    let obj = object(body)?;
    let managed_by = match string(obj, "managedByUserGUID")? {
        Some(Some(s)) if s.trim().is_empty() => Some(None),
        Some(Some(s)) if !is_guid(s.trim()) => {
            return Err(HelloIdError::invalid_value("managedByUserGUID"))
        }
        Some(Some(s)) => Some(Some(s.trim().to_ascii_lowercase())),
        other => other,
    };
    let attributes = match obj.get("userAttributes") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => return Err(HelloIdError::invalid_value("userAttributes")),
    };
    let rename = match obj.get("IdentifierObject") {
        None | Some(Value::Null) => None,
        Some(Value::Object(id)) => match string(id, "userName")? {
            None | Some(None) => None,
            Some(Some(name)) if name.trim().is_empty() => {
                return Err(HelloIdError::invalid_value("IdentifierObject.userName"))
            }
            Some(Some(name)) => Some(name),
        },
        Some(_) => return Err(HelloIdError::invalid_value("IdentifierObject")),
    };
    Ok(UserInput {
        user_name: string(obj, "userName")?.flatten(),
        first_name: string(obj, "firstName")?,
        last_name: string(obj, "lastName")?,
        contact_email: string(obj, "contactEmail")?,
        is_enabled: opt_boolean(obj, "isEnabled")?,
        must_change_password: opt_boolean(obj, "mustChangePassword")?,
        source: string(obj, "source")?,
        managed_by,
        attributes,
        password: string(obj, "password")?.flatten(),
        rename,
    })
}

/// A `POST /selfservice/products/request` body (helloid.md §4.6, keys as documented).
#[derive(Debug, Clone)]
pub struct ProductRequest {
    pub product: String,
    pub requested_by: Option<String>,
    pub requested_for: String,
    pub comment: Option<String>,
}

/// Reads a product request; GUIDs are compared in lower case.
pub fn product_request(body: &Value) -> Result<ProductRequest, HelloIdError> {
    let obj = object(body)?;
    Ok(ProductRequest {
        product: required(obj, "requestedProductGUID")?.to_ascii_lowercase(),
        requested_by: string(obj, "requestedByUserGUID")?
            .flatten()
            .map(|s| s.to_ascii_lowercase()),
        requested_for: required(obj, "requestedForUserGUID")?.to_ascii_lowercase(),
        comment: string(obj, "comment")?.flatten(),
    })
}

/// A `POST /product-assignment/unassign/by-product` body.
#[derive(Debug, Clone)]
pub struct Unassign {
    pub product: String,
    pub user: String,
    pub execute_actions: bool,
}

/// Reads an unassign body; `executeActions` defaults to `false`.
pub fn unassign(body: &Value) -> Result<Unassign, HelloIdError> {
    let obj = object(body)?;
    Ok(Unassign {
        product: required(obj, "productGUID")?.to_ascii_lowercase(),
        user: required(obj, "userGUID")?.to_ascii_lowercase(),
        execute_actions: opt_boolean(obj, "executeActions")?.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_come_as_json_or_strings_in_any_case() {
        assert!(boolean(&json!(true), "x").unwrap());
        assert!(boolean(&json!("TRUE"), "x").unwrap());
        assert!(!boolean(&json!(" False "), "x").unwrap());
        assert!(boolean(&json!("yes"), "x").is_err());
        assert!(boolean(&json!(1), "x").is_err());
    }

    #[test]
    fn a_user_body_reads_every_field() {
        let u = user(&json!({
            "userName": "a@x", "firstName": null, "isEnabled": "true",
            "mustChangePassword": "TRUE", "managedByUserGUID": "",
            "userAttributes": {"k": "v", "gone": null},
            "IdentifierObject": {"userName": "b@x"}, "password": "pw", "extra": 1,
        }))
        .unwrap();
        assert_eq!(u.user_name.as_deref(), Some("a@x"));
        assert_eq!(u.first_name, Some(None));
        assert_eq!(u.last_name, None);
        assert_eq!(
            (u.is_enabled, u.must_change_password),
            (Some(true), Some(true))
        );
        assert_eq!(u.managed_by, Some(None));
        assert_eq!(u.rename.as_deref(), Some("b@x"));
        assert_eq!(u.attributes.unwrap().len(), 2);
        assert!(user(&json!({"managedByUserGUID": "nope"})).is_err());
        assert!(user(&json!({"isEnabled": 3})).is_err());
        assert!(user(&json!([])).is_err());
    }

    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("e2a7c4f1-6b3d-4d8a-9f20-51c7b0e9d3a6"));
        assert!(!is_guid("e2a7c4f1-6b3d-4d8a-9f20-51c7b0e9d3a"));
        assert!(!is_guid("m.visser@gemeente.example"));
    }
}
