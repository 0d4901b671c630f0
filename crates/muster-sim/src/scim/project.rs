//! `attributes` and `excludedAttributes` (RFC 7644 §3.9): trimming a rendered resource to what
//! the client asked for. `id` and `schemas` are always returned.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::filter::parse_attr_path;
use super::schema::Kind;

/// One requested attribute, resolved to the key holding it.
#[derive(Debug, Clone)]
struct Pick {
    /// Extension URN holding the attribute, if any.
    ext: Option<&'static str>,
    /// `None` = the whole extension object.
    attr: Option<String>,
    sub: Option<String>,
}

/// What to keep or drop.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    include: Vec<Pick>,
    exclude: Vec<Pick>,
}

fn parse_list(kind: Kind, list: Option<&str>) -> Result<Vec<Pick>, ScimError> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(ext) = kind.extension(item) {
            out.push(Pick {
                ext: Some(ext.id),
                attr: None,
                sub: None,
            });
            continue;
        }
        let path = parse_attr_path(item, 0).map_err(|e| {
            ScimError::bad(
                ScimType::InvalidValue,
                format!("attribute list: {}", e.reason),
            )
        })?;
        let ext = match path.schema.as_deref() {
            Some(urn) if !urn.eq_ignore_ascii_case(kind.core().id) => Some(
                kind.extension(urn)
                    .ok_or_else(|| {
                        ScimError::bad(ScimType::InvalidValue, format!("unknown schema '{urn}'"))
                    })?
                    .id,
            ),
            _ => None,
        };
        out.push(Pick {
            ext,
            attr: Some(path.attr),
            sub: path.sub,
        });
    }
    Ok(out)
}

fn key_ci(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

impl Projection {
    /// Parses the two comma-separated lists; `attributes` wins when both are given.
    pub fn parse(
        kind: Kind,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, ScimError> {
        Ok(Self {
            include: parse_list(kind, attributes)?,
            exclude: parse_list(kind, excluded)?,
        })
    }

    /// Whether the answer keeps the core attribute `name` (whole) at all, so a renderer can
    /// leave out what would be dropped anyway (a group's members).
    pub fn keeps(&self, name: &str) -> bool {
        let is = |p: &Pick| {
            p.ext.is_none()
                && p.attr
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(name))
        };
        if !self.include.is_empty() {
            return self.include.iter().any(is);
        }
        !self.exclude.iter().any(|p| is(p) && p.sub.is_none())
    }

    /// Trims `resource` (a rendered resource object).
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(mut res) = resource else {
            return resource;
        };
        if !self.include.is_empty() {
            let mut out = Map::new();
            for keep in ["schemas", "id"] {
                if let Some(v) = res.remove(keep) {
                    out.insert(keep.into(), v);
                }
            }
            for pick in &self.include {
                copy(&res, &mut out, pick);
            }
            return Value::Object(out);
        }
        for pick in &self.exclude {
            remove(&mut res, pick);
        }
        Value::Object(res)
    }
}

fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, pick: &Pick) {
    let (src, dst) = match pick.ext {
        Some(urn) => {
            let Some(src) = from.get(urn).and_then(Value::as_object) else {
                return;
            };
            let Some(attr) = &pick.attr else {
                to.insert(urn.into(), Value::Object(src.clone()));
                return;
            };
            let dst = to
                .entry(urn.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(dst) = dst else { return };
            copy_attr(src, dst, attr, pick.sub.as_deref());
            return;
        }
        None => (from, to),
    };
    if let Some(attr) = &pick.attr {
        copy_attr(src, dst, attr, pick.sub.as_deref());
    }
}

fn copy_attr(
    src: &Map<String, Value>,
    dst: &mut Map<String, Value>,
    attr: &str,
    sub: Option<&str>,
) {
    let Some(key) = key_ci(src, attr) else { return };
    let Some(v) = src.get(&key) else { return };
    let Some(sub) = sub else {
        dst.insert(key, v.clone());
        return;
    };
    let pick_sub = |el: &Value| -> Option<Value> {
        let o = el.as_object()?;
        let k = key_ci(o, sub)?;
        let mut m = Map::new();
        m.insert(k.clone(), o.get(&k)?.clone());
        Some(Value::Object(m))
    };
    let picked = match v {
        Value::Array(items) => Some(Value::Array(items.iter().filter_map(pick_sub).collect())),
        other => pick_sub(other),
    };
    if let Some(p) = picked {
        // Two sub-attributes of one complex attribute both land in it.
        match (dst.get_mut(&key), p) {
            (Some(Value::Object(have)), Value::Object(new)) => have.extend(new),
            (_, p) => {
                dst.insert(key, p);
            }
        }
    }
}

fn remove(res: &mut Map<String, Value>, pick: &Pick) {
    let target = match pick.ext {
        Some(urn) => match &pick.attr {
            None => {
                res.remove(urn);
                return;
            }
            Some(_) => match res.get_mut(urn).and_then(Value::as_object_mut) {
                Some(m) => m,
                None => return,
            },
        },
        None => res,
    };
    let Some(attr) = &pick.attr else { return };
    if attr.eq_ignore_ascii_case("id") || attr.eq_ignore_ascii_case("schemas") {
        return;
    }
    let Some(key) = key_ci(target, attr) else {
        return;
    };
    match &pick.sub {
        None => {
            target.remove(&key);
        }
        Some(sub) => match target.get_mut(&key) {
            Some(Value::Object(o)) => {
                if let Some(k) = key_ci(o, sub) {
                    o.remove(&k);
                }
            }
            Some(Value::Array(items)) => {
                for el in items.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(k) = key_ci(el, sub) {
                        el.remove(&k);
                    }
                }
            }
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_SCHEMA;
    use serde_json::json;

    fn res() -> Value {
        json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A", "familyName": "B"},
               "emails": [{"value": "a@x", "type": "work"}], "meta": {"version": "W/\"1\""},
               ENTERPRISE_SCHEMA: {"department": "D", "costCenter": "C"}})
    }

    #[test]
    fn attributes_keep_only_what_was_asked_plus_id() {
        let p = Projection::parse(
            Kind::User,
            Some(&format!(
                "USERNAME,name.givenName,{ENTERPRISE_SCHEMA}:department"
            )),
            None,
        )
        .unwrap();
        let out = p.apply(res());
        assert_eq!(
            out,
            json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A"},
                   ENTERPRISE_SCHEMA: {"department": "D"}})
        );
    }

    #[test]
    fn excluded_attributes_drop_what_was_named_but_never_id() {
        let p = Projection::parse(Kind::User, None, Some("emails.type,name,id,meta")).unwrap();
        let out = p.apply(res());
        assert_eq!(out["id"], "1");
        assert!(out.get("name").is_none() && out.get("meta").is_none());
        assert_eq!(out["emails"], json!([{"value": "a@x"}]));
    }
}
