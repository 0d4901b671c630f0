//! The envelope every Zermelo answer comes in (zermelo.md §2):
//! `{"response": {status, message, details, eventId, startRow, endRow, totalRows, data}}`,
//! with `data` always an array, even for one entity, and `message` (plus `details` and
//! `eventId`) the text of an error. Pure functions, so they are tested without a server.

use super::wire::kind_of;
use serde_json::Value;

/// How much of an error text is quoted.
const DETAIL_LIMIT: usize = 500;

/// The members of `response` Muster reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    /// `response.status`, when it is a number.
    pub status: Option<u16>,
    pub message: String,
    pub details: String,
    /// `response.eventId` as text (a number or a string); empty when absent or `0`.
    pub event_id: String,
    /// `response.totalRows`, when given: a list with fewer rows was cut short.
    pub total_rows: Option<u64>,
    /// `response.data`.
    pub data: Vec<Value>,
}

impl Envelope {
    /// The error text for the audit: `message`, then `details` and `eventId` when they say
    /// something, e.g. `Forbidden: not authorised to list users (eventId 17)`.
    pub fn error_text(&self) -> String {
        let message = self.message.trim();
        let details = self.details.trim();
        let mut text = match (message.is_empty(), details.is_empty()) {
            (false, false) if message != details => format!("{message}: {details}"),
            (false, _) => message.to_owned(),
            (true, false) => details.to_owned(),
            (true, true) => String::new(),
        };
        if !self.event_id.is_empty() {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!("(eventId {})", self.event_id));
        }
        shorten(&text)
    }
}

/// Reads an envelope. `Err` says why the body is not one; `data` must be an array (a `null`
/// or missing `data` reads as no rows, so an error answer without it is still an envelope).
pub fn parse(body: &[u8]) -> Result<Envelope, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    from_value(&value)
}

/// [`parse`] on JSON already read.
pub fn from_value(value: &Value) -> Result<Envelope, String> {
    let response = value
        .get("response")
        .and_then(Value::as_object)
        .ok_or("the answer has no `response` object")?;
    let text = |key: &str| match response.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let data = match response.get("data") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(rows)) => rows.clone(),
        Some(other) => {
            return Err(format!(
                "`response.data` is {}, not an array",
                kind_of(other)
            ))
        }
    };
    let event_id = text("eventId");
    Ok(Envelope {
        status: response
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok()),
        message: text("message"),
        details: text("details"),
        event_id: if event_id == "0" {
            String::new()
        } else {
            event_id
        },
        total_rows: response.get("totalRows").and_then(Value::as_u64),
        data,
    })
}

/// The error text of an error answer: the envelope's ([`Envelope::error_text`]), or the body
/// itself, shortened, when it is no envelope (a proxy's page); `HTTP {status}` when empty.
pub fn error_text(status: u16, body: &[u8]) -> String {
    if let Ok(envelope) = parse(body) {
        let text = envelope.error_text();
        if !text.is_empty() {
            return text;
        }
    }
    let raw = String::from_utf8_lossy(body);
    let raw = raw.trim();
    if raw.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        shorten(raw)
    }
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    let mut end = text.len().min(DETAIL_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let ellipsis = if end < text.len() { "…" } else { "" };
    format!("{}{ellipsis}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_spec_answer_reads_with_data_as_rows() {
        let body = json!({ "response": { "status": 200, "message": "", "details": "",
            "eventId": 0, "startRow": 0, "endRow": 1, "totalRows": 1,
            "data": [ { "code": "118204", "firstName": "Daan", "isStudent": true } ] } });
        let e = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(e.status, Some(200));
        assert_eq!(e.total_rows, Some(1));
        assert_eq!(e.data.len(), 1);
        assert_eq!(e.data[0]["code"], "118204");
        assert_eq!(e.event_id, "", "eventId 0 names no event");
        assert_eq!(e.error_text(), "");
    }

    #[test]
    fn data_must_be_an_array_and_response_an_object() {
        let one = json!({ "response": { "data": { "code": "1" } } });
        let err = parse(one.to_string().as_bytes()).unwrap_err();
        assert!(err.contains("not an array"), "{err}");
        assert!(parse(br#"{"data": []}"#).is_err());
        assert!(parse(b"<html>").is_err());
        let none = parse(br#"{"response": {"status": 404, "data": null}}"#).unwrap();
        assert!(none.data.is_empty());
    }

    #[test]
    fn error_text_is_message_details_and_event_id() {
        let body = json!({ "response": { "status": 403, "message": "Forbidden",
            "details": "this token is not authorised to list users", "eventId": 17,
            "data": [] } });
        assert_eq!(
            error_text(403, body.to_string().as_bytes()),
            "Forbidden: this token is not authorised to list users (eventId 17)"
        );
        let only_message = json!({ "response": { "message": "User 9 not found",
            "details": "", "eventId": "ab-12" } });
        assert_eq!(
            error_text(404, only_message.to_string().as_bytes()),
            "User 9 not found (eventId ab-12)"
        );
        let only_details = json!({ "response": { "message": "", "details": "bad weight" } });
        assert_eq!(
            error_text(400, only_details.to_string().as_bytes()),
            "bad weight"
        );
        let same = json!({ "response": { "message": "Oops", "details": "Oops" } });
        assert_eq!(error_text(500, same.to_string().as_bytes()), "Oops");
    }

    #[test]
    fn error_text_falls_back_to_the_body_then_the_status() {
        assert_eq!(
            error_text(502, b"  <h1>Bad Gateway</h1> "),
            "<h1>Bad Gateway</h1>"
        );
        assert_eq!(error_text(500, b""), "HTTP 500 with an empty body");
        let empty = json!({ "response": { "message": "", "details": "", "eventId": 0 } });
        assert_eq!(
            error_text(500, empty.to_string().as_bytes()),
            empty.to_string()
        );
        let long = "é".repeat(DETAIL_LIMIT);
        let text = error_text(500, long.as_bytes());
        assert!(text.ends_with('…') && text.len() <= DETAIL_LIMIT + '…'.len_utf8());
    }
}
