//! Matching a parsed [`Filter`] against a stored resource: attribute look-up ignoring case,
//! multi-valued attributes (any element may match), value paths, and per-attribute case
//! sensitivity from the schema table.

use serde_json::{Map, Value};

use super::{AttrPath, CompareOp, Filter};
use crate::scim::schema::{self, Kind};

/// Gets `key` from `obj`, ignoring case (attribute names are case-insensitive, RFC 7643 §2.1).
pub fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

impl Filter {
    /// Whether `resource` (a stored `kind` resource) matches.
    pub fn matches(&self, kind: Kind, resource: &Map<String, Value>) -> bool {
        self.eval(kind, resource, None)
    }

    /// Whether one element of the multi-valued attribute `parent` matches (a value path).
    pub fn matches_element(
        &self,
        kind: Kind,
        parent: &AttrPath,
        element: &Map<String, Value>,
    ) -> bool {
        self.eval(kind, element, Some(parent))
    }

    /// The value of a plain `attr eq "value"` on a top-level attribute: lets the store answer
    /// the common `userName eq` look-up from its index instead of a scan.
    pub fn as_eq_on(&self, attr: &str) -> Option<&str> {
        match self {
            Self::Compare(p, CompareOp::Eq, Value::String(s))
                if p.sub.is_none() && p.schema.is_none() && p.attr.eq_ignore_ascii_case(attr) =>
            {
                Some(s)
            }
            _ => None,
        }
    }

    /// Whether any path in the filter names attribute `attr` (ignoring case, wherever it
    /// appears): lets the store skip putting back attributes a filter cannot look at.
    pub fn mentions(&self, attr: &str) -> bool {
        match self {
            Self::And(a, b) | Self::Or(a, b) => a.mentions(attr) || b.mentions(attr),
            Self::Not(a) => a.mentions(attr),
            Self::Present(p) | Self::Compare(p, _, _) => p.attr.eq_ignore_ascii_case(attr),
            Self::ValuePath(p, inner) => p.attr.eq_ignore_ascii_case(attr) || inner.mentions(attr),
        }
    }

    /// `parent` is set inside a value path: then paths name sub-attributes of its elements.
    fn eval(&self, kind: Kind, obj: &Map<String, Value>, parent: Option<&AttrPath>) -> bool {
        match self {
            Self::And(a, b) => a.eval(kind, obj, parent) && b.eval(kind, obj, parent),
            Self::Or(a, b) => a.eval(kind, obj, parent) || b.eval(kind, obj, parent),
            Self::Not(a) => !a.eval(kind, obj, parent),
            Self::Present(path) => leaves(kind, obj, path, parent.is_some())
                .iter()
                .any(|v| present(v)),
            Self::Compare(path, op, expected) => {
                let exact = match parent {
                    Some(p) => {
                        schema::case_exact(kind, p.schema.as_deref(), &p.attr, Some(&path.attr))
                    }
                    None => schema::case_exact(
                        kind,
                        path.schema.as_deref(),
                        &path.attr,
                        path.sub.as_deref(),
                    ),
                };
                let values = leaves(kind, obj, path, parent.is_some());
                match op {
                    CompareOp::Ne => !values
                        .iter()
                        .any(|v| compare(CompareOp::Eq, v, expected, exact)),
                    _ => values.iter().any(|v| compare(*op, v, expected, exact)),
                }
            }
            Self::ValuePath(path, inner) => {
                let elements: Vec<&Value> = match container(kind, obj, path, parent.is_some())
                    .and_then(|c| get_ci(c, &path.attr))
                {
                    Some(Value::Array(items)) => items.iter().collect(),
                    Some(v @ Value::Object(_)) => vec![v],
                    _ => Vec::new(),
                };
                elements
                    .into_iter()
                    .filter_map(Value::as_object)
                    .any(|el| inner.eval(kind, el, Some(path)))
            }
        }
    }
}

/// The object holding `path.attr`: the resource, or its extension object for a URN path.
fn container<'a>(
    kind: Kind,
    obj: &'a Map<String, Value>,
    path: &AttrPath,
    in_element: bool,
) -> Option<&'a Map<String, Value>> {
    match &path.schema {
        Some(urn) if !in_element && !urn.eq_ignore_ascii_case(kind.core().id) => {
            get_ci(obj, urn)?.as_object()
        }
        _ => Some(obj),
    }
}

/// The simple values `path` designates; a multi-valued complex attribute without a
/// sub-attribute stands for its elements' `value`.
fn leaves<'a>(
    kind: Kind,
    obj: &'a Map<String, Value>,
    path: &AttrPath,
    in_element: bool,
) -> Vec<&'a Value> {
    let Some(v) = container(kind, obj, path, in_element).and_then(|c| get_ci(c, &path.attr)) else {
        return Vec::new();
    };
    let pick = |el: &'a Value| -> Option<&'a Value> {
        match (el, path.sub.as_deref()) {
            (Value::Object(o), Some(sub)) => get_ci(o, sub),
            (Value::Object(o), None) => get_ci(o, "value"),
            (other, None) => Some(other),
            (_, Some(_)) => None,
        }
    };
    match v {
        Value::Array(items) => items.iter().filter_map(pick).collect(),
        other => pick(other).into_iter().collect(),
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(op: CompareOp, actual: &Value, expected: &Value, exact: bool) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (actual, expected) {
        (Value::String(a), Value::String(e)) => {
            let (a, e) = if exact {
                (a.clone(), e.clone())
            } else {
                (a.to_lowercase(), e.to_lowercase())
            };
            match op {
                CompareOp::Co => return a.contains(&e),
                CompareOp::Sw => return a.starts_with(&e),
                CompareOp::Ew => return a.ends_with(&e),
                _ => Some(a.cmp(&e)),
            }
        }
        (Value::Number(a), Value::Number(e)) => a
            .as_f64()
            .zip(e.as_f64())
            .and_then(|(a, e)| a.partial_cmp(&e)),
        (Value::Bool(a), Value::Bool(e)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            Some(a.cmp(e))
        }
        _ => None,
    };
    let Some(ord) = ord else { return false };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse;
    use serde_json::json;

    fn user() -> Map<String, Value> {
        let v = json!({
            "userName": "Ann \"jr\" O+B@corp.example",
            "externalId": "E-1",
            "displayName": "Ann Example",
            "active": true,
            "emails": [
                { "value": "ann@home.example", "type": "home" },
                { "value": "ann@corp.example", "type": "work", "primary": true },
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Sales" },
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn m(f: &str) -> bool {
        parse(f).unwrap().matches(Kind::User, &user())
    }

    #[test]
    fn user_name_ignores_case_but_external_id_does_not() {
        assert!(m(r#"userName eq "ANN \"JR\" o+b@CORP.example""#));
        assert!(m(r#"externalId eq "E-1""#));
        assert!(!m(r#"externalId eq "e-1""#));
    }

    #[test]
    fn operators_work_on_their_attributes() {
        assert!(m(r#"userName sw "ann""#));
        assert!(m(r#"userName co "jr""#));
        assert!(m(r#"userName ew "EXAMPLE""#));
        assert!(m("displayName pr"));
        assert!(!m("nickName pr"));
        assert!(m(r#"emails.value eq "ann@corp.example""#));
        assert!(m(r#"emails eq "ann@home.example""#));
        assert!(m(r#"emails[type eq "work"].value eq "ann@corp.example""#));
        assert!(!m(r#"emails[type eq "home"].value eq "ann@corp.example""#));
        assert!(m(r#"emails[type eq "work" and primary eq true]"#));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales""#
        ));
        assert!(m("active eq true"));
        assert!(m(r#"externalId ne "E-2""#));
        assert!(m(r#"userName gt "a" and userName lt "b""#));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_regroup() {
        assert!(m(
            r#"externalId eq "nope" and displayName pr or userName sw "ann""#
        ));
        assert!(!m(
            r#"externalId eq "nope" and (displayName pr or userName sw "ann")"#
        ));
        assert!(m(r#"NOT (externalId eq "nope") AND userName SW "ann""#));
        let f = parse(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap();
        assert!(matches!(f, Filter::Or(_, ref r) if matches!(**r, Filter::And(_, _))));
    }

    #[test]
    fn the_index_fast_path_only_takes_plain_equality() {
        assert_eq!(
            parse(r#"userName eq "a""#).unwrap().as_eq_on("username"),
            Some("a")
        );
        assert_eq!(
            parse(r#"userName sw "a""#).unwrap().as_eq_on("userName"),
            None
        );
        assert_eq!(
            parse(r#"userName eq "a" or userName eq "b""#)
                .unwrap()
                .as_eq_on("userName"),
            None
        );
    }
}
