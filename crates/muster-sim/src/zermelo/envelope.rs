//! The envelope every answer under `/api/v3` is wrapped in (zermelo.md §2):
//! `{"response": {status, message, details, eventId, startRow, endRow, totalRows, data}}`,
//! with `data` always an array.
//!
//! Handlers, the auth check and the fault injector answer with an [`Envelope`] placed in the
//! response's extensions; the [`render`] middleware turns it into the JSON body and hands out the
//! next `eventId` at that moment. One place renders, so no answer can miss the envelope or get
//! an `eventId` out of order, and an answer that is dropped uses none.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::error::ZermeloError;
use super::state::ZermeloState;

/// Media type of every answer under `/api/v3`.
pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// An answer before it is rendered: the status, the texts and the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub status: StatusCode,
    pub message: String,
    pub details: String,
    pub data: Vec<Value>,
}

impl Envelope {
    /// A successful answer with these rows.
    pub fn ok(status: StatusCode, data: Vec<Value>) -> Self {
        Self {
            status,
            message: String::new(),
            details: String::new(),
            data,
        }
    }

    /// The JSON body, with `eventId`.
    pub fn body(&self, event_id: u64) -> Value {
        json!({
            "response": {
                "status": self.status.as_u16(),
                "message": self.message,
                "details": self.details,
                "eventId": event_id,
                "startRow": 0,
                "endRow": self.data.len(),
                "totalRows": self.data.len(),
                "data": self.data,
            }
        })
    }
}

impl IntoResponse for Envelope {
    fn into_response(self) -> Response {
        let mut resp = self.status.into_response();
        resp.extensions_mut().insert(self);
        resp
    }
}

impl From<ZermeloError> for Envelope {
    fn from(e: ZermeloError) -> Self {
        Self {
            status: e.status,
            message: e.message,
            details: e.details,
            data: Vec::new(),
        }
    }
}

impl IntoResponse for ZermeloError {
    fn into_response(self) -> Response {
        Envelope::from(self).into_response()
    }
}

/// Middleware rendering the [`Envelope`] of an answer into its body, keeping its status and
/// headers (`Retry-After`, `WWW-Authenticate`). An answer without one (a dropped connection)
/// passes untouched.
pub async fn render(State(state): State<ZermeloState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let (mut parts, body) = resp.into_parts();
    let Some(envelope) = parts.extensions.remove::<Envelope>() else {
        return Response::from_parts(parts, body);
    };
    let text = envelope.body(state.next_event_id()).to_string();
    parts.status = envelope.status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    Response::from_parts(parts, Body::from(text))
}

/// `entity` with only the members named in `fields` (all when `None`).
pub fn select(entity: Value, fields: Option<&[String]>) -> Value {
    match (fields, entity) {
        (Some(fields), Value::Object(mut all)) => {
            let mut out = Map::new();
            for f in fields {
                if let Some(v) = all.remove(f) {
                    out.insert(f.clone(), v);
                }
            }
            Value::Object(out)
        }
        (_, other) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_counts_its_rows() {
        let e = Envelope::ok(StatusCode::OK, vec![json!({ "a": 1 }), json!({ "a": 2 })]);
        let b = e.body(7);
        assert_eq!(b["response"]["eventId"], 7);
        assert_eq!(b["response"]["endRow"], 2);
        assert_eq!(b["response"]["totalRows"], 2);
        let err = Envelope::from(ZermeloError::not_found("User", "9"));
        let b = err.body(8);
        assert_eq!(b["response"]["status"], 404);
        assert_eq!(b["response"]["message"], "User 9 not found");
        assert_eq!(b["response"]["data"], json!([]));
    }

    #[test]
    fn select_keeps_only_the_fields_asked() {
        let v = json!({ "a": 1, "b": 2, "c": 3 });
        let f = vec!["c".to_string(), "a".to_string()];
        assert_eq!(select(v.clone(), Some(&f)), json!({ "a": 1, "c": 3 }));
        assert_eq!(select(v.clone(), None), v);
    }
}
