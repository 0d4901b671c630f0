//! PATCH (RFC 7644 §3.5.2): parsing a `PatchOp` body and applying its operations to a copy of
//! a resource's attributes.
//!
//! Paths may be plain (`active`), nested (`name.givenName`), extension URNs
//! (`urn:…:enterprise:2.0:User:department`) or value paths (`members[value eq "x"]`,
//! `emails[type eq "work"].value`). `add` and `replace` also work without a path, with an
//! object value. Atomicity is the caller's part: `store::Store::update` commits the copy only if
//! [`apply`] returns `Ok`.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::filter::{self, AttrPath, Filter, Parser, Tok};
use super::schema::{self, AttrDef, Kind, Mutability, SchemaDef};
use super::store::MemberChange;
use super::validate;

/// Schema URN of a PATCH request body.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Replace,
}

/// Where an operation points.
#[derive(Debug)]
struct Target {
    /// The extension holding the attribute; `None` for core and common attributes.
    ext: Option<&'static SchemaDef>,
    /// `None` for the whole extension object (path = the extension URN).
    attr: Option<&'static AttrDef>,
    /// The value filter and the path it is relative to.
    filter: Option<(Filter, AttrPath)>,
    sub: Option<&'static AttrDef>,
}

fn bad_path(detail: impl Into<String>) -> ScimError {
    ScimError::bad(ScimType::InvalidPath, detail)
}

/// What an `add` to `members` does with a member the group already lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAdds {
    /// Nothing (RFC 7644 §3.5.2.1: the server SHOULD ignore it).
    Ignore,
    /// Lists it once more, as some servers do (the `duplicate_member_adds` switch).
    Repeat,
}

/// Applies the PATCH request `body` to `attrs` (stored attributes of a `kind` resource), then
/// re-checks the result as a whole; `adds` decides what an `add` of a member already listed
/// does. On error `attrs` may be half changed: discard it.
pub fn apply(
    kind: Kind,
    attrs: &mut Map<String, Value>,
    body: &Value,
    adds: MemberAdds,
) -> Result<(), ScimError> {
    let syntax = |d: &str| ScimError::bad(ScimType::InvalidSyntax, d);
    let obj = body
        .as_object()
        .ok_or_else(|| syntax("the body must be a JSON object"))?;
    let lists_patch = filter::get_ci(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_SCHEMA))
            })
        });
    if !lists_patch {
        return Err(syntax(
            "'schemas' must list urn:ietf:params:scim:api:messages:2.0:PatchOp",
        ));
    }
    let ops = filter::get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| syntax("'Operations' must be a non-empty array"))?;
    for (i, op) in ops.iter().enumerate() {
        apply_one(kind, attrs, op, adds).map_err(|mut e| {
            e.detail = format!("operation {}: {}", i + 1, e.detail);
            e
        })?;
    }
    *attrs = validate::normalize(kind, &Value::Object(std::mem::take(attrs)), false)?;
    Ok(())
}

/// The membership change of a PATCH body on a group that is exactly one `add` of members
/// (`[{"value": id}, …]`) or one `remove` of `members[value eq "id"]`: the requests a client
/// sends for a grant or a revoke, which `store::Store::change_members` applies without copying
/// the member list. `None` for anything else (it goes through [`apply`]).
pub fn member_change(kind: Kind, body: &Value) -> Option<MemberChange> {
    if kind != Kind::Group {
        return None;
    }
    let obj = body.as_object()?;
    let schemas = filter::get_ci(obj, "schemas")?.as_array()?;
    if !schemas.iter().any(|u| {
        u.as_str()
            .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_SCHEMA))
    }) {
        return None;
    }
    let [op] = filter::get_ci(obj, "Operations")?.as_array()?.as_slice() else {
        return None;
    };
    let op = op.as_object()?;
    let name = filter::get_ci(op, "op")?.as_str()?.to_ascii_lowercase();
    let path = filter::get_ci(op, "path")?.as_str()?.trim();
    match name.as_str() {
        "add" if path.eq_ignore_ascii_case("members") => {
            let ids = filter::get_ci(op, "value")?
                .as_array()?
                .iter()
                .map(
                    |m| match m.as_object()?.iter().collect::<Vec<_>>().as_slice() {
                        [(key, Value::String(id))] if key.as_str() == "value" => Some(id.clone()),
                        _ => None,
                    },
                )
                .collect::<Option<Vec<String>>>()?;
            Some(MemberChange::Add(ids))
        }
        "remove" => {
            let target = parse_path(kind, path).ok()?;
            let (f, _) = target.filter.as_ref()?;
            let is_members = target.ext.is_none()
                && target.sub.is_none()
                && target.attr.is_some_and(|a| a.name == "members");
            is_members.then_some(())?;
            Some(MemberChange::Remove(f.as_eq_on("value")?.to_owned()))
        }
        _ => None,
    }
}

fn apply_one(
    kind: Kind,
    attrs: &mut Map<String, Value>,
    op: &Value,
    adds: MemberAdds,
) -> Result<(), ScimError> {
    let obj = op
        .as_object()
        .ok_or_else(|| ScimError::bad(ScimType::InvalidSyntax, "an operation must be an object"))?;
    let name = filter::get_ci(obj, "op")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let op = match name.to_ascii_lowercase().as_str() {
        "add" => Op::Add,
        "remove" => Op::Remove,
        "replace" => Op::Replace,
        _ => {
            return Err(ScimError::bad(
                ScimType::InvalidSyntax,
                format!("unknown op '{name}'"),
            ))
        }
    };
    let path = match filter::get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(p.as_str()),
        Some(_) => return Err(bad_path("'path' must be a string")),
    };
    let value = filter::get_ci(obj, "value").unwrap_or(&Value::Null);
    match (op, path) {
        (Op::Remove, None) => Err(ScimError::bad(ScimType::NoTarget, "remove needs a path")),
        (_, Some(p)) => {
            let target = parse_path(kind, p)?;
            apply_at(kind, attrs, op, &target, value, adds)
        }
        (_, None) => {
            let Some(fields) = value.as_object() else {
                return Err(ScimError::bad(
                    ScimType::InvalidValue,
                    "without a path, the value must be an object",
                ));
            };
            for (key, v) in fields {
                let target = parse_path(kind, key)?;
                apply_at(kind, attrs, op, &target, v, adds)?;
            }
            Ok(())
        }
    }
}

/// Parses and resolves a PATCH path against `kind`'s schemas.
fn parse_path(kind: Kind, text: &str) -> Result<Target, ScimError> {
    let text = text.trim();
    if let Some(ext) = kind.extension(text) {
        return Ok(Target {
            ext: Some(ext),
            attr: None,
            filter: None,
            sub: None,
        });
    }
    let toks = filter::lex(text).map_err(|e| bad_path(format!("'{text}': {}", e.reason)))?;
    let mut parser = Parser::new(toks, text.len());
    let path = match parser.next() {
        Some((pos, Tok::Word(w))) => filter::parse_attr_path(&w, pos),
        _ => return Err(bad_path(format!("'{text}' is not a path"))),
    }
    .map_err(|e| bad_path(e.reason))?;
    let mut sub_name = path.sub.clone();
    let mut value_filter = None;
    if parser.peek() == Some(&Tok::LBrack) {
        if sub_name.is_some() {
            return Err(bad_path(format!(
                "'{text}': a value filter follows the attribute itself"
            )));
        }
        let (f, sub) = parser
            .value_filter()
            .map_err(|e| bad_path(format!("'{text}': {}", e.reason)))?;
        value_filter = Some(f);
        sub_name = sub;
    }
    if !parser.at_end() {
        return Err(bad_path(format!("'{text}' has extra text")));
    }
    let ext = match path.schema.as_deref() {
        None => None,
        Some(urn) if urn.eq_ignore_ascii_case(kind.core().id) => None,
        Some(urn) => Some(
            kind.extension(urn)
                .ok_or_else(|| bad_path(format!("unknown schema '{urn}'")))?,
        ),
    };
    let def = match ext {
        Some(ext) => ext.attr(&path.attr),
        None => schema::find_attr(kind, None, &path.attr),
    }
    .ok_or_else(|| bad_path(format!("no attribute '{}'", path.attr)))?;
    let sub = match &sub_name {
        Some(s) => Some(
            def.sub_attr(s)
                .ok_or_else(|| bad_path(format!("no sub-attribute '{s}' of '{}'", def.name)))?,
        ),
        None => None,
    };
    if def.mutability == Mutability::ReadOnly
        || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
    {
        return Err(ScimError::bad(
            ScimType::Mutability,
            format!("'{text}' is read-only"),
        ));
    }
    if value_filter.is_some() && !(def.multi && def.ty == schema::Ty::Complex) {
        return Err(bad_path(format!(
            "'{}' is not multi-valued; it takes no value filter",
            def.name
        )));
    }
    if value_filter.is_none() && sub.is_some() && def.multi {
        return Err(bad_path(format!(
            "'{text}': select elements of '{}' with a value filter",
            def.name
        )));
    }
    let filter = value_filter.map(|f| {
        (
            f,
            AttrPath {
                schema: path.schema,
                attr: def.name.to_string(),
                sub: None,
            },
        )
    });
    Ok(Target {
        ext,
        attr: Some(def),
        filter,
        sub,
    })
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn set(container: &mut Map<String, Value>, name: &str, v: Option<Value>) {
    match v {
        Some(v) => container.insert(name.to_string(), v),
        None => container.remove(name),
    };
}

/// Same member? Members are the same when their ids are; other values when equal.
fn same(def: &AttrDef, a: &Value, b: &Value) -> bool {
    if def.name == "members" {
        a.get("value").is_some() && a.get("value") == b.get("value")
    } else {
        a == b
    }
}

fn apply_at(
    kind: Kind,
    attrs: &mut Map<String, Value>,
    op: Op,
    t: &Target,
    value: &Value,
    adds: MemberAdds,
) -> Result<(), ScimError> {
    let container: &mut Map<String, Value> = match t.ext {
        None => attrs,
        Some(ext) => {
            let slot = attrs
                .entry(ext.id.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            match slot.as_object_mut() {
                Some(m) => m,
                None => {
                    return Err(ScimError::bad(
                        ScimType::InvalidValue,
                        "extension is not an object",
                    ))
                }
            }
        }
    };
    let result = match t.attr {
        None => apply_extension(container, op, t, value),
        Some(def) => match (&t.filter, t.sub) {
            (Some((f, parent)), sub) => {
                apply_filtered(kind, container, op, def, f, parent, sub, value)
            }
            (None, Some(sub)) => apply_sub(container, op, def, sub, value),
            (None, None) => apply_plain(container, op, def, value, adds),
        },
    };
    if let Some(ext) = t.ext {
        if attrs
            .get(ext.id)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            attrs.remove(ext.id);
        }
    }
    result
}

/// Path = the extension URN itself: each key of the value is one of its attributes.
fn apply_extension(
    container: &mut Map<String, Value>,
    op: Op,
    t: &Target,
    value: &Value,
) -> Result<(), ScimError> {
    let Some(ext) = t.ext else { return Ok(()) };
    if op == Op::Remove {
        container.clear();
        return Ok(());
    }
    let fields = value.as_object().ok_or_else(|| {
        ScimError::bad(
            ScimType::InvalidValue,
            format!("'{}' takes an object", ext.id),
        )
    })?;
    for (key, v) in fields {
        let def = ext
            .attr(key)
            .ok_or_else(|| bad_path(format!("no attribute '{key}' in {}", ext.id)))?;
        if def.mutability == Mutability::ReadOnly {
            return Err(ScimError::bad(
                ScimType::Mutability,
                format!("'{key}' is read-only"),
            ));
        }
        apply_plain(container, op, def, v, MemberAdds::Ignore)?;
    }
    Ok(())
}

fn apply_plain(
    container: &mut Map<String, Value>,
    op: Op,
    def: &AttrDef,
    value: &Value,
    adds: MemberAdds,
) -> Result<(), ScimError> {
    match op {
        Op::Remove => {
            container.remove(def.name);
        }
        _ if def.multi => {
            // A single object is taken as a one-element list; some clients send it that way.
            let list = if value.is_object() {
                Value::Array(vec![value.clone()])
            } else {
                value.clone()
            };
            let new = validate::normalize_value(def, &list)?;
            if op == Op::Replace {
                set(container, def.name, new);
            } else if let Some(Value::Array(new)) = new {
                let slot = container
                    .entry(def.name.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = slot {
                    let repeat = adds == MemberAdds::Repeat && def.name == "members";
                    for v in new {
                        if repeat || !items.iter().any(|old| same(def, old, &v)) {
                            items.push(v);
                        }
                    }
                }
            }
        }
        _ if def.ty == schema::Ty::Complex => {
            // Both add and replace merge: sub-attributes not given are left alone (§3.5.2.3).
            let new = validate::normalize_single(def, value)?;
            match new {
                Some(Value::Object(fields)) => {
                    let mut merged = container
                        .get(def.name)
                        .cloned()
                        .map(object)
                        .unwrap_or_default();
                    merged.extend(fields);
                    container.insert(def.name.to_string(), Value::Object(merged));
                }
                _ if op == Op::Replace => {
                    container.remove(def.name);
                }
                _ => {}
            }
        }
        _ => set(container, def.name, validate::normalize_single(def, value)?),
    }
    Ok(())
}

/// `name.givenName`-style paths into a single complex attribute.
fn apply_sub(
    container: &mut Map<String, Value>,
    op: Op,
    def: &AttrDef,
    sub: &AttrDef,
    value: &Value,
) -> Result<(), ScimError> {
    let mut parent = container
        .get(def.name)
        .cloned()
        .map(object)
        .unwrap_or_default();
    let new = if op == Op::Remove {
        None
    } else {
        validate::normalize_value(sub, value)?
    };
    set(&mut parent, sub.name, new);
    set(
        container,
        def.name,
        (!parent.is_empty()).then_some(Value::Object(parent)),
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn apply_filtered(
    kind: Kind,
    container: &mut Map<String, Value>,
    op: Op,
    def: &AttrDef,
    f: &Filter,
    parent: &AttrPath,
    sub: Option<&AttrDef>,
    value: &Value,
) -> Result<(), ScimError> {
    let mut items = match container.remove(def.name) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let hits: Vec<bool> = items
        .iter()
        .map(|el| {
            el.as_object()
                .is_some_and(|o| f.matches_element(kind, parent, o))
        })
        .collect();
    if !hits.contains(&true) {
        return Err(ScimError::bad(
            ScimType::NoTarget,
            format!("no '{}' value matches the filter", def.name),
        ));
    }
    match (op, sub) {
        (Op::Remove, None) => {
            let mut keep = hits.iter();
            items.retain(|_| !keep.next().copied().unwrap_or(false));
        }
        (_, None) => {
            let new = validate::normalize_single(def, value)?
                .map(object)
                .unwrap_or_default();
            for (el, _) in items.iter_mut().zip(&hits).filter(|(_, hit)| **hit) {
                if op == Op::Replace {
                    *el = Value::Object(new.clone());
                } else if let Some(o) = el.as_object_mut() {
                    o.extend(new.clone());
                }
            }
        }
        (_, Some(sub)) => {
            let new = if op == Op::Remove {
                None
            } else {
                validate::normalize_value(sub, value)?
            };
            for (el, _) in items.iter_mut().zip(&hits).filter(|(_, hit)| **hit) {
                if let Some(o) = el.as_object_mut() {
                    set(o, sub.name, new.clone());
                }
            }
        }
    }
    items.retain(|el| el.as_object().is_some_and(|o| !o.is_empty()));
    if !items.is_empty() {
        container.insert(def.name.to_string(), Value::Array(items));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_SCHEMA;
    use serde_json::json;

    fn patch(kind: Kind, start: Value, ops: Value) -> Result<Value, ScimError> {
        let mut attrs = object(start);
        apply(
            kind,
            &mut attrs,
            &json!({ "schemas": [PATCH_SCHEMA], "Operations": ops }),
            MemberAdds::Ignore,
        )?;
        Ok(Value::Object(attrs))
    }

    #[test]
    fn paths_reach_nested_extension_and_filtered_values() {
        let out = patch(
            Kind::User,
            json!({"userName": "a", "emails": [{"value": "a@x", "type": "work"}, {"value": "a@y", "type": "home"}]}),
            json!([
                {"op": "replace", "path": "name.givenName", "value": "Ann"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Ops"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ann@x"},
                {"op": "remove", "path": "emails[type eq \"home\"]"},
                {"op": "replace", "value": {"active": false, "displayName": "Ann A"}},
            ]),
        )
        .unwrap();
        assert_eq!(out["name"]["givenName"], "Ann");
        assert_eq!(out[ENTERPRISE_SCHEMA]["department"], "Ops");
        assert_eq!(out["emails"], json!([{"value": "ann@x", "type": "work"}]));
        assert_eq!(out["active"], false);
        assert_eq!(out["displayName"], "Ann A");
    }

    #[test]
    fn member_add_is_idempotent_and_remove_without_filter_clears() {
        let start = json!({"displayName": "g", "members": [{"value": "u1", "type": "User"}]});
        let out = patch(
            Kind::Group,
            start.clone(),
            json!([{"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}]),
        )
        .unwrap();
        assert_eq!(out["members"].as_array().map(Vec::len), Some(2));
        let out = patch(
            Kind::Group,
            start,
            json!([{"op": "remove", "path": "members"}]),
        )
        .unwrap();
        assert!(out.get("members").is_none());
    }

    #[test]
    fn with_repeated_adds_an_existing_member_is_listed_again_and_a_filtered_remove_takes_all() {
        let body = |ops: Value| json!({ "schemas": [PATCH_SCHEMA], "Operations": ops });
        let values = |attrs: &Map<String, Value>| -> Vec<String> {
            attrs["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        };
        let mut attrs = object(json!({"displayName": "g", "members": [{"value": "u1"}]}));
        let add = body(json!([{"op": "add", "path": "members", "value": [{"value": "u1"}]}]));
        apply(Kind::Group, &mut attrs, &add, MemberAdds::Repeat).unwrap();
        assert_eq!(values(&attrs), ["u1", "u1"]);
        // Remove by value filter, then add, in one request: listed once.
        let relist = body(json!([
            {"op": "remove", "path": "members[value eq \"u1\"]"},
            {"op": "add", "path": "members", "value": [{"value": "u1"}]}
        ]));
        apply(Kind::Group, &mut attrs, &relist, MemberAdds::Repeat).unwrap();
        assert_eq!(values(&attrs), ["u1"]);
        apply(Kind::Group, &mut attrs, &add, MemberAdds::Ignore).unwrap();
        assert_eq!(values(&attrs), ["u1"]);
    }

    #[test]
    fn remove_matching_nothing_is_no_target() {
        let err = patch(
            Kind::Group,
            json!({"displayName": "g", "members": [{"value": "u1"}]}),
            json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::NoTarget));
    }

    #[test]
    fn bad_requests_get_the_rfc_error_types() {
        let t = |ops: Value| {
            patch(Kind::User, json!({"userName": "a"}), ops)
                .unwrap_err()
                .scim_type
        };
        assert_eq!(t(json!([{"op": "remove"}])), Some(ScimType::NoTarget));
        assert_eq!(
            t(json!([{"op": "replace", "path": "nope", "value": 1}])),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            t(json!([{"op": "replace", "path": "id", "value": "x"}])),
            Some(ScimType::Mutability)
        );
        assert_eq!(
            t(json!([{"op": "jump", "path": "active", "value": true}])),
            Some(ScimType::InvalidSyntax)
        );
        assert_eq!(
            t(json!([{"op": "replace", "path": "active", "value": "yes"}])),
            Some(ScimType::InvalidValue)
        );
        assert_eq!(
            t(json!([{"op": "remove", "path": "userName"}])),
            Some(ScimType::InvalidValue)
        );
        assert_eq!(
            t(json!([{"op": "add", "path": "emails[type eq \"work\"", "value": "x"}])),
            Some(ScimType::InvalidPath)
        );
    }
}
