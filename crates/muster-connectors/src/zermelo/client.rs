//! Zermelo's API over the shared HTTP layer: URLs under `{base_url}/api/v3`, JSON bodies, the
//! envelope unwrapped from every answer, 401/403 as refused credentials, and 429s waited out
//! for as long as the retry budget allows.
//!
//! It turns answers into [`Reply`] or [`Failure`]; what a status *means* for an operation (a
//! 404 is "absent" before an archive, "account gone" on an update, and "gone" of either the
//! class or the student on a placement) is decided in [`super::connector`] and its helpers.

use super::envelope::{self, Envelope};
use crate::http::{self, HttpClient, JsonCall, Method, Response, SuccessBody};
use muster_core::connector::ConnectorError;
use muster_core::TargetName;
use serde_json::Value;
use std::time::Duration;
use tracing::debug;

/// `Content-Type` of request bodies and `Accept` of every request.
pub const JSON: &str = "application/json";

/// A 2xx answer, unwrapped.
#[derive(Debug)]
pub struct Reply {
    /// `None` for an empty body (a 204, or a PUT answered with nothing).
    pub envelope: Option<Envelope>,
}

impl Reply {
    /// The rows of `response.data` (none for an empty answer).
    pub fn into_rows(self) -> Vec<Value> {
        self.envelope.map(|e| e.data).unwrap_or_default()
    }
}

pub use crate::http::Refusal;

pub type Failure = http::Failure<Refusal>;
type Garbled = http::Garbled<Refusal>;

#[derive(Debug)]
pub struct ZermeloClient {
    http: HttpClient,
    /// `{base_url}/api/v3`, without a trailing `/`.
    base: String,
    /// How long one request may keep being answered 429 before it is given up.
    throttle_budget: Duration,
}

impl ZermeloClient {
    pub fn new(http: HttpClient, api_url: &str, throttle_budget: Duration) -> Self {
        Self {
            http,
            base: api_url.trim_end_matches('/').to_owned(),
            throttle_budget,
        }
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    pub fn target(&self) -> &TargetName {
        self.http.target()
    }

    /// Sends one request. `path` starts with `/`, is relative to the API URL, and holds only
    /// escaped values (see [`super::wire::escape`]); it may carry a query.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, Failure> {
        // Logs and errors name the path without its query (`student=` holds a person's code).
        let call = JsonCall {
            base: &self.base,
            method,
            path,
            body,
            accept: JSON,
            content_type: JSON,
            throttle_budget: self.throttle_budget,
            at_most_once: false,
        };
        self.http
            .call_json(call, |method, path, resp, attempt| {
                self.interpret(method, path, resp, attempt)
            })
            .await
    }

    /// Turns an answer into a [`Reply`] or a [`Failure`]. A success whose body is not JSON is
    /// judged by [`http::success_body`]; one that is JSON but no envelope breaks the protocol
    /// (after a POST: uncertain, the write may have been applied).
    fn interpret(
        &self,
        method: &Method,
        path: &str,
        resp: Response,
        attempt: u32,
    ) -> Result<Reply, Garbled> {
        let status = resp.status.as_u16();
        if !resp.status.is_success() {
            return Err(Garbled::Failure(
                self.refusal(method, path, status, &resp.body),
            ));
        }
        let body = match http::success_body(
            self.target(),
            method,
            path,
            status,
            &resp.body,
            attempt,
        ) {
            SuccessBody::Json(body) => body,
            SuccessBody::Again => {
                debug!(method = %method, path = %path, attempt, "Answer is not JSON; sending again.");
                return Err(Garbled::Again);
            }
            SuccessBody::Failed(e) => return Err(Garbled::Failure(Failure::Error(e))),
        };
        let Some(body) = body else {
            return Ok(Reply { envelope: None });
        };
        let envelope = envelope::from_value(&body).map_err(|why| {
            let detail = format!("{method} {path} answered {status} outside the envelope: {why}");
            Garbled::Failure(Failure::Error(if *method == Method::POST {
                ConnectorError::Uncertain {
                    target: self.target().clone(),
                    method: method.to_string(),
                    path: path.to_owned(),
                    detail,
                }
            } else {
                ConnectorError::Protocol {
                    target: self.target().clone(),
                    detail,
                }
            }))
        })?;
        // An error told inside a 2xx answer is still an error.
        if let Some(inner) = envelope.status.filter(|s| *s >= 400) {
            return Err(Garbled::Failure(
                self.refusal(method, path, inner, &resp.body),
            ));
        }
        Ok(Reply {
            envelope: Some(envelope),
        })
    }

    fn refusal(&self, method: &Method, path: &str, status: u16, body: &[u8]) -> Failure {
        let detail = envelope::error_text(status, body);
        if status == 401 || status == 403 {
            return Failure::Error(ConnectorError::Unauthorized {
                target: self.target().clone(),
                status,
                detail,
            });
        }
        Failure::Refused(Refusal {
            method: method.clone(),
            path: path.to_owned(),
            status,
            detail,
        })
    }
}
