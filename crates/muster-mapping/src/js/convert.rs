//! A script's result → a JSON value of the field's `Type`, or why not.

use super::failure::Failure;
use crate::field_type::FieldType;
use rquickjs::{convert::Coerced, FromJs, Type, Value};
use serde_json::Value as Json;

/// Nesting depth and element count a result may have; a cyclic or runaway object is a
/// wrong result, not a hang.
const MAX_DEPTH: usize = 32;
const MAX_ITEMS: usize = 100_000;

/// `undefined` and `null` are "no value"; anything else must fit `ty`.
pub(crate) fn result(v: Value<'_>, ty: FieldType) -> Result<Option<Json>, Failure> {
    let t = v.type_of();
    if t.is_void() {
        return Ok(None);
    }
    let wrong = |t: Type| Failure::WrongType {
        got: kind(t),
        expected: ty,
    };
    match (ty, t) {
        (FieldType::Text, Type::String | Type::Int | Type::Float | Type::Bool) => {
            let text = Coerced::<String>::from_js(v.ctx(), v.clone())
                .map_err(|e| Failure::Engine(e.to_string()))?;
            Ok(Some(Json::String(text.0)))
        }
        (FieldType::Number, Type::Int | Type::Float) | (FieldType::Boolean, Type::Bool) => {
            generic(&v, 0, &mut 0).map(Some)
        }
        (FieldType::Array, Type::Array) => generic(&v, 0, &mut 0).map(Some),
        (FieldType::Object, Type::Object) => generic(&v, 0, &mut 0).map(Some),
        (_, other) => Err(wrong(other)),
    }
}

fn generic(v: &Value<'_>, depth: usize, items: &mut usize) -> Result<Json, Failure> {
    *items += 1;
    if depth > MAX_DEPTH || *items > MAX_ITEMS {
        return Err(Failure::Threw {
            message: format!(
                "the result is nested deeper than {MAX_DEPTH} levels or holds more than {MAX_ITEMS} values"
            ),
            line: None,
        });
    }
    let engine = |e: rquickjs::Error| Failure::Engine(e.to_string());
    Ok(match v.type_of() {
        Type::Undefined | Type::Null | Type::Uninitialized => Json::Null,
        Type::Bool => Json::Bool(v.as_bool().unwrap_or_default()),
        Type::Int => Json::from(v.as_int().unwrap_or_default()),
        Type::Float => {
            let f = v.as_float().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                // 3.0 is 3 in JavaScript; keep it an integer in JSON.
                Json::from(f as i64)
            } else {
                serde_json::Number::from_f64(f)
                    .map(Json::Number)
                    .ok_or(Failure::Threw {
                        message: format!("the result holds {f}, which is not a usable number"),
                        line: None,
                    })?
            }
        }
        Type::String => Json::String(
            v.as_string()
                .map(|s| s.to_string())
                .transpose()
                .map_err(engine)?
                .unwrap_or_default(),
        ),
        Type::Array => {
            let mut out = Vec::new();
            if let Some(a) = v.as_array() {
                for item in a.iter::<Value>() {
                    out.push(generic(&item.map_err(engine)?, depth + 1, items)?);
                }
            }
            Json::Array(out)
        }
        Type::Object => {
            let mut out = serde_json::Map::new();
            if let Some(o) = v.as_object() {
                for prop in o.props::<String, Value>() {
                    let (k, item) = prop.map_err(engine)?;
                    out.insert(k, generic(&item, depth + 1, items)?);
                }
            }
            Json::Object(out)
        }
        other => {
            return Err(Failure::Threw {
                message: format!("the result holds {}, which has no JSON form", kind(other)),
                line: None,
            })
        }
    })
}

/// What a JavaScript value is, for messages.
fn kind(t: Type) -> &'static str {
    match t {
        Type::Uninitialized | Type::Undefined => "undefined",
        Type::Null => "null",
        Type::Bool => "a boolean",
        Type::Int | Type::Float => "a number",
        Type::String => "a string",
        Type::Symbol => "a symbol",
        Type::Array => "an array",
        Type::Function | Type::Constructor => "a function",
        Type::Promise => "a promise",
        Type::Exception => "an Error object",
        Type::Object => "an object",
        Type::Proxy => "a proxy",
        Type::BigInt => "a BigInt",
        Type::Module | Type::Unknown => "an engine value",
    }
}
