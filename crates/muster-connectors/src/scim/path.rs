//! SCIM attribute paths (RFC 7644 §3.10, and the PATCH `valuePath` form of §3.5.2): how a
//! SCIM resource becomes Muster's flat `Attributes`, and how a flat change is written back
//! into a resource.
//!
//! Paths look like `userName`, `name.givenName`, `emails[type eq "work"].value` and
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`. The same string
//! is a key of [`ObservedAccount::attributes`](muster_core::connector::ObservedAccount), a
//! write in an [`Operation`](muster_core::connector::Operation), and a PATCH `path`.

use super::filter::quote;
use super::wire::CORE_USER_SCHEMA;
use muster_core::connector::Attributes;
use serde_json::{Map, Value};
use std::fmt;

/// One parsed attribute path.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The extension schema URN (`urn:…:enterprise:2.0:User`); `None` for core attributes.
    pub schema: Option<String>,
    /// The attribute (`emails`, `name`, `department`).
    pub attr: String,
    /// A value filter selecting elements of a multi-valued attribute (`[type eq "work"]`).
    pub filter: Option<ValueFilter>,
    /// A sub-attribute (`value`, `givenName`).
    pub sub: Option<String>,
}

/// `[attribute eq value]`: the only value filter Muster writes or reads back.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueFilter {
    pub attr: String,
    pub value: Value,
}

impl ValueFilter {
    /// Whether an element of a multi-valued attribute is selected. String comparison ignores
    /// case: canonical values such as `type` are case-insensitive.
    pub fn matches(&self, element: &Value) -> bool {
        let Some(obj) = element.as_object() else {
            return false;
        };
        match (get_ci(obj, &self.attr), &self.value) {
            (Some(Value::String(a)), Value::String(b)) => a.eq_ignore_ascii_case(b),
            (Some(a), b) => a == b,
            (None, _) => false,
        }
    }
}

impl AttrPath {
    /// Parses a path. Only `eq` value filters are accepted: they are what a path needs to
    /// address one element, and all that a PATCH by Muster writes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let err = |why: &str| format!("attribute path `{text}`: {why}");
        let (schema, rest) = if text.len() > 4 && text[..4].eq_ignore_ascii_case("urn:") {
            let head_end = text.find('[').unwrap_or(text.len());
            let colon = text[..head_end]
                .rfind(':')
                .ok_or_else(|| err("no attribute after the schema URN"))?;
            let end = colon + resource_type_len(&text[colon + 1..head_end]);
            let schema = &text[..end];
            let schema =
                (!schema.eq_ignore_ascii_case(CORE_USER_SCHEMA)).then(|| schema.to_owned());
            (schema, &text[end + 1..])
        } else {
            (None, text)
        };

        let name_end = rest.find(['.', '[']).unwrap_or(rest.len());
        let attr = &rest[..name_end];
        check_name(attr).map_err(|why| err(&why))?;
        let mut tail = &rest[name_end..];

        let mut filter = None;
        if let Some(inner_and_more) = tail.strip_prefix('[') {
            let close = closing_bracket(inner_and_more).ok_or_else(|| err("unclosed `[`"))?;
            filter = Some(parse_value_filter(&inner_and_more[..close]).map_err(|why| err(&why))?);
            tail = &inner_and_more[close + 1..];
        }
        let mut sub = None;
        if let Some(s) = tail.strip_prefix('.') {
            check_name(s).map_err(|why| err(&why))?;
            sub = Some(s.to_owned());
            tail = "";
        }
        if !tail.is_empty() {
            return Err(err(&format!("unexpected `{tail}`")));
        }
        Ok(Self {
            schema,
            attr: attr.to_owned(),
            filter,
            sub,
        })
    }

    /// Writes `value` at this path in `resource` (a JSON object). `null` removes what the path
    /// addresses. Writing an extension attribute declares the extension in `schemas`.
    pub fn set(&self, resource: &mut Map<String, Value>, value: Value) {
        let clearing = value.is_null();
        if let Some(urn) = &self.schema {
            if clearing && get_ci(resource, urn).is_none() {
                return;
            }
            if !clearing {
                declare_schema(resource, urn);
            }
            let key = key_ci(resource, urn);
            let ext = resource
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            if let Some(ext) = ext.as_object_mut() {
                self.set_in(ext, value);
            }
        } else {
            self.set_in(resource, value);
        }
    }

    fn set_in(&self, container: &mut Map<String, Value>, value: Value) {
        let clearing = value.is_null();
        let key = key_ci(container, &self.attr);
        match (&self.filter, &self.sub) {
            (None, None) => {
                if clearing {
                    container.remove(&key);
                } else {
                    container.insert(key, value);
                }
            }
            (None, Some(sub)) => {
                if clearing && !container.get(&key).is_some_and(Value::is_object) {
                    return;
                }
                let slot = container
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Some(obj) = slot.as_object_mut() {
                    let sub_key = key_ci(obj, sub);
                    if clearing {
                        obj.remove(&sub_key);
                    } else {
                        obj.insert(sub_key, value);
                    }
                    if obj.is_empty() {
                        container.remove(&key);
                    }
                }
            }
            (Some(filter), sub) => {
                if clearing && !container.get(&key).is_some_and(Value::is_array) {
                    return;
                }
                let slot = container
                    .entry(key.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                if let Value::Array(items) = slot {
                    set_in_elements(items, filter, sub.as_deref(), value);
                    if items.is_empty() {
                        container.remove(&key);
                    }
                }
            }
        }
    }
}

fn set_in_elements(items: &mut Vec<Value>, filter: &ValueFilter, sub: Option<&str>, value: Value) {
    let clearing = value.is_null();
    let matched = items.iter().any(|e| filter.matches(e));
    match sub {
        Some(sub) if clearing => {
            for e in items.iter_mut().filter(|e| filter.matches(e)) {
                if let Some(obj) = e.as_object_mut() {
                    let k = key_ci(obj, sub);
                    obj.remove(&k);
                }
            }
            // An element left with only its selector (`{"type": "work"}`) says nothing.
            items.retain(|e| !(filter.matches(e) && e.as_object().is_some_and(|o| o.len() <= 1)));
        }
        Some(sub) => {
            if matched {
                for e in items.iter_mut().filter(|e| filter.matches(e)) {
                    if let Some(obj) = e.as_object_mut() {
                        let k = key_ci(obj, sub);
                        obj.insert(k, value.clone());
                    }
                }
            } else {
                let mut obj = Map::new();
                obj.insert(filter.attr.clone(), filter.value.clone());
                obj.insert(sub.to_owned(), value);
                items.push(Value::Object(obj));
            }
        }
        None if clearing => items.retain(|e| !filter.matches(e)),
        None => {
            let mut replacement = match value {
                Value::Object(obj) => obj,
                other => {
                    let mut obj = Map::new();
                    obj.insert("value".to_owned(), other);
                    obj
                }
            };
            if get_ci(&replacement, &filter.attr).is_none() {
                replacement.insert(filter.attr.clone(), filter.value.clone());
            }
            items.retain(|e| !filter.matches(e));
            items.push(Value::Object(replacement));
        }
    }
}

/// HelloID's notation `urn:…:enterprise:2.0:User.division` puts a dot between the schema URN
/// and the attribute, where RFC 7644 §3.10 has a colon. After the URN's last colon, `User.` or
/// `Group.` (the resource types whose schemas a mapping writes) is the end of the URN. Returns
/// the offset from the colon to that dot, or 0.
fn resource_type_len(after_colon: &str) -> usize {
    match after_colon.split_once('.') {
        Some((name, _)) if ["User", "Group"].contains(&name) => name.len() + 1,
        _ => 0,
    }
}

/// Attributes a mapping cannot write, because a read never returns them as a field (they are
/// the resource's identity, Muster's enabled flag or its group membership).
const NOT_MAPPABLE: [(&str, &str); 5] = [
    ("id", "the server assigns it"),
    ("meta", "the server keeps it"),
    ("schemas", "Muster declares the schemas it writes"),
    ("active", "the enabled flag follows the rules' `access`"),
    ("groups", "membership follows the rules' permissions"),
];

/// The one spelling of a mapped field's attribute path, as a read of the resource names it
/// ([`flatten`]), so that what is written compares equal to what is read back next time: the
/// core schema URN dropped, HelloID's `…:User.division` written `…:User:division`, `eq` in
/// lower case. Refused, with the reason and the spelling to use: paths no read returns as
/// written, which would plan the same Update on every run.
pub fn mapping_field(text: &str) -> Result<String, String> {
    let path = AttrPath::parse(text)?;
    let refuse = |why: String| Err(format!("attribute path `{text}`: {why}"));
    if path.schema.is_none() {
        if let Some((_, why)) = NOT_MAPPABLE
            .iter()
            .find(|(name, _)| path.attr.eq_ignore_ascii_case(name))
        {
            return refuse(format!("`{}` cannot be mapped: {why}", path.attr));
        }
    }
    if path.sub.as_deref() == Some("$ref") {
        return refuse("`$ref` is made by the server; map `value` instead".to_owned());
    }
    if let Some(filter) = &path.filter {
        let example = format!("{}[type eq \"work\"].value", path.attr);
        if !filter.attr.eq_ignore_ascii_case("type") || !filter.value.is_string() {
            return refuse(format!(
                "only a `type` filter with a text value selects an element, e.g. `{example}`"
            ));
        }
        if path.sub.is_none() {
            return refuse(format!(
                "name the sub-attribute of the selected element, e.g. `{example}`"
            ));
        }
    }
    let mut canonical = path;
    if let Some(filter) = &mut canonical.filter {
        filter.attr = "type".to_owned();
    }
    let spelled = canonical.to_string();
    // The connector parses the spelling again to write it: it must read the same way.
    if AttrPath::parse(&spelled).as_ref() != Ok(&canonical) {
        return refuse(format!(
            "`{spelled}` reads two ways (an attribute named `User` or `Group` with a \
             sub-attribute); write the extension's attributes after its URN and a colon"
        ));
    }
    Ok(spelled)
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{} eq {}]", filter.attr, literal(&filter.value))?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A JSON value as a filter literal.
pub fn literal(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        other => other.to_string(),
    }
}

/// ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA; `$ref` is allowed too.
fn check_name(name: &str) -> Result<(), String> {
    if name == "$ref" {
        return Ok(());
    }
    let mut chars = name.chars();
    match chars.next() {
        None => Err("empty attribute name".to_owned()),
        Some(c) if !c.is_ascii_alphabetic() => Err(format!("`{name}` is not an attribute name")),
        Some(_) if chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') => Ok(()),
        Some(_) => Err(format!("`{name}` is not an attribute name")),
    }
}

/// Index of the `]` that closes a value filter, skipping brackets inside string literals.
fn closing_bracket(s: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            ']' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_value_filter(inner: &str) -> Result<ValueFilter, String> {
    let inner = inner.trim();
    let (attr, rest) = inner
        .split_once(' ')
        .ok_or_else(|| format!("value filter `{inner}` is not `attribute eq value`"))?;
    let rest = rest.trim_start();
    let (op, literal) = rest
        .split_once(' ')
        .ok_or_else(|| format!("value filter `{inner}` is not `attribute eq value`"))?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(format!("value filter `{inner}`: only `eq` is supported"));
    }
    check_name(attr)?;
    let value: Value = serde_json::from_str(literal.trim())
        .map_err(|_| format!("value filter `{inner}`: `{literal}` is not a value"))?;
    if value.is_array() || value.is_object() {
        return Err(format!(
            "value filter `{inner}`: `{literal}` is not a value"
        ));
    }
    Ok(ValueFilter {
        attr: attr.to_owned(),
        value,
    })
}

/// Flattens a SCIM resource into attribute paths. `schemas`, `id`, `meta`, `active` (the
/// enabled flag), `password` and `groups` (read-only; membership comes from `/Groups`) are
/// left out, and so are nulls and `$ref` links (server-made URLs).
///
/// A multi-valued attribute whose elements all have a distinct `type` becomes one path per
/// element and sub-attribute (`emails[type eq "work"].value`); when types repeat, the primary
/// (or else the first) element of each type is taken, as a `[type eq …]` write addresses them
/// all. Other multi-valued attributes stay whole arrays under their own name.
pub fn flatten(resource: &Value) -> Attributes {
    let mut out = Attributes::new();
    let Some(obj) = resource.as_object() else {
        return out;
    };
    for (key, value) in obj {
        let lower = key.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "schemas" | "id" | "meta" | "active" | "password" | "groups"
        ) {
            continue;
        }
        if lower.starts_with("urn:") {
            if let Some(ext) = value.as_object() {
                for (attr, v) in ext {
                    flatten_attr(&mut out, &format!("{key}:{attr}"), v);
                }
            }
            continue;
        }
        flatten_attr(&mut out, key, value);
    }
    out
}

fn flatten_attr(out: &mut Attributes, name: &str, value: &Value) {
    match value {
        Value::Null => {}
        Value::Object(obj) => {
            for (sub, v) in obj {
                if !v.is_null() && sub != "$ref" {
                    out.insert(format!("{name}.{sub}"), v.clone());
                }
            }
        }
        Value::Array(items) if items.is_empty() => {}
        Value::Array(items) => match typed_elements(items) {
            Some(by_type) => {
                for (ty, element) in by_type {
                    for (sub, v) in element {
                        if v.is_null() || sub == "$ref" || sub.eq_ignore_ascii_case("type") {
                            continue;
                        }
                        out.insert(format!("{name}[type eq {}].{sub}", quote(ty)), v.clone());
                    }
                }
            }
            None => {
                out.insert(name.to_owned(), value.clone());
            }
        },
        scalar => {
            out.insert(name.to_owned(), scalar.clone());
        }
    }
}

/// One element per `type` when every element is an object with a string `type`.
fn typed_elements(items: &[Value]) -> Option<Vec<(&str, &Map<String, Value>)>> {
    let mut chosen: Vec<(&str, &Map<String, Value>)> = Vec::new();
    for item in items {
        let obj = item.as_object()?;
        let ty = get_ci(obj, "type")?.as_str()?;
        let primary = get_ci(obj, "primary").and_then(Value::as_bool) == Some(true);
        match chosen.iter_mut().find(|(t, _)| t.eq_ignore_ascii_case(ty)) {
            Some(slot) if primary => *slot = (ty, obj),
            Some(_) => {}
            None => chosen.push((ty, obj)),
        }
    }
    Some(chosen)
}

/// A member of `obj` by name, ignoring case (SCIM attribute names are case-insensitive).
pub fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The key `obj` already uses for `name` (any case), or `name`.
fn key_ci(obj: &Map<String, Value>, name: &str) -> String {
    if obj.contains_key(name) {
        return name.to_owned();
    }
    obj.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

/// Adds `urn` to the resource's `schemas` unless it is listed.
pub fn declare_schema(resource: &mut Map<String, Value>, urn: &str) {
    let key = key_ci(resource, "schemas");
    let schemas = resource
        .entry(key)
        .or_insert_with(|| Value::Array(Vec::new()));
    if !schemas.is_array() {
        *schemas = Value::Array(Vec::new());
    }
    if let Value::Array(list) = schemas {
        let listed = list
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
        if !listed {
            list.push(Value::String(urn.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const DIVISION_HELLOID: &str =
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.division";
    const DIVISION: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division";

    #[test]
    fn helloids_notation_is_the_extension_attribute() {
        assert_eq!(mapping_field(DIVISION_HELLOID).unwrap(), DIVISION);
        assert_eq!(mapping_field(DIVISION).unwrap(), DIVISION);
        assert_eq!(
            mapping_field("urn:ietf:params:scim:schemas:core:2.0:User.userName").unwrap(),
            "userName"
        );
        assert_eq!(
            mapping_field(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager.value"
            )
            .unwrap(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
        // Written where a read finds it, so the next plan has nothing to change.
        let path = AttrPath::parse(DIVISION_HELLOID).unwrap();
        let mut user = Map::new();
        path.set(&mut user, json!("Finance"));
        assert_eq!(
            user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["division"],
            "Finance"
        );
        assert_eq!(flatten(&Value::Object(user))[DIVISION], "Finance");
    }

    #[test]
    fn paths_no_read_returns_are_refused_with_the_spelling_to_use() {
        for (path, says) in [
            ("active", "rules' `access`"),
            ("groups", "permissions"),
            ("id", "server assigns"),
            ("emails[type eq \"work\"]", "emails[type eq \"work\"].value"),
            ("emails[primary eq true].value", "only a `type` filter"),
            ("manager.$ref", "map `value`"),
            ("urn:x:2.0:User.", "empty attribute name"),
        ] {
            let e = mapping_field(path).unwrap_err();
            assert!(e.contains(path) && e.contains(says), "{path}: {e}");
        }
    }

    fn schema() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "",
            "urn:ietf:params:scim:schemas:core:2.0:User:",
            "urn:ietf:params:scim:schemas:core:2.0:User.",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.",
            "URN:IETF:params:scim:schemas:extension:enterprise:2.0:User.",
            "urn:ietf:params:scim:schemas:zivver:0.1:User:",
            "urn:acme:custom:Employee.",
            "urn:acme:custom:2.0:",
        ])
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "userName", "name", "emails", "division", "active", "groups", "id", "meta",
                "schemas", "password", "manager", "title", "Type",
            ])
            .prop_map(str::to_owned),
            "[a-zA-Z][a-zA-Z0-9_-]{0,6}",
        ]
    }

    fn filter() -> impl Strategy<Value = Option<String>> {
        let attr = prop::sample::select(vec!["type", "Type", "primary", "display"]);
        let op = prop::sample::select(vec!["eq", "EQ", "Eq"]);
        let literal = prop::sample::select(vec![
            "\"work\"",
            "\"Home\"",
            "\"w]o\\\"rk\"",
            "\"\"",
            "true",
            "7",
        ]);
        proptest::option::of((attr, op, literal).prop_map(|(a, o, l)| format!("[{a} {o} {l}]")))
    }

    fn sub() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop_oneof![
            prop::sample::select(vec!["value", "givenName", "$ref", "Display"])
                .prop_map(str::to_owned),
            "[a-z][a-zA-Z0-9]{0,5}",
        ])
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            ".{0,12}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            (-1000i64..1000).prop_map(Value::from),
            proptest::collection::vec("[a-z@.]{1,8}", 0..3).prop_map(|v| json!(v)),
        ]
    }

    /// What the plan's diff counts as no value: absent, null, `""` or `[]`.
    fn no_value(v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(items)) => items.is_empty(),
            Some(_) => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Issue 13, item 3: every path a mapping may name is written where the next read
        /// finds it under that same name, with the value written — so after an apply the next
        /// plan has no Update for it. Paths that could not converge are refused.
        #[test]
        fn every_accepted_mapping_path_reads_back_what_was_written(
            schema in schema(),
            attr in name(),
            filter in filter(),
            sub in sub(),
            value in value(),
        ) {
            let mut text = format!("{schema}{attr}");
            if let Some(f) = &filter {
                text.push_str(f);
            }
            if let Some(s) = &sub {
                text.push('.');
                text.push_str(s);
            }
            let Ok(field) = mapping_field(&text) else {
                return Ok(());
            };
            prop_assert_eq!(mapping_field(&field), Ok(field.clone()), "one spelling");
            let path = AttrPath::parse(&field).map_err(TestCaseError::fail)?;
            if path.schema.is_none() && path.attr.eq_ignore_ascii_case("password") {
                // Write-only (the connector's capabilities): compared by fingerprint.
                return Ok(());
            }
            let mut user = Map::new();
            path.set(&mut user, value.clone());
            let read = flatten(&Value::Object(user.clone()));
            let back = read.get(&field);
            prop_assert!(
                back == Some(&value) || (no_value(back) && no_value(Some(&value))),
                "{text} as {field}: wrote {value}, read {back:?} from {user:?}"
            );
        }
    }
}
