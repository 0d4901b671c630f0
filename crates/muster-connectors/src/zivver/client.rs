//! Zivver's API over the shared HTTP layer: URLs under `{base_url}/api/scim/v2`, the content
//! types the public clients send, plain-text error bodies, 429s waited out for as long as the
//! retry budget allows, and the full reads of `Users` and `Groups` (paging tolerated, not
//! assumed).
//!
//! It turns answers into [`Reply`] or [`Failure`]; what a status *means* for an operation (a
//! 400 is "account gone" on a read by id but a validation error on a write) is decided in
//! [`super::connector`].

use super::wire::{self, ListResponse};
use crate::http::{self, HttpClient, JsonCall, Method, Response, SuccessBody};
use crate::scim::{Pager, PagingError};
use muster_core::connector::ConnectorError;
use muster_core::TargetName;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tracing::debug;

/// A 2xx answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// `None` for an empty body (204).
    pub body: Option<Value>,
}

pub use crate::http::Refusal;

pub type Failure = http::Failure<Refusal>;
type Garbled = http::Garbled<Refusal>;

#[derive(Debug)]
pub struct ZivverClient {
    http: HttpClient,
    /// `{base_url}/api/scim/v2`, without a trailing `/`.
    base: String,
    /// How long one request may keep being answered 429 before it is given up.
    throttle_budget: Duration,
}

impl ZivverClient {
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

    /// Sends one request. `path` starts with `/`, is relative to the API URL and may carry a
    /// query that is already percent-encoded.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, Failure> {
        self.send_call(method, path, body, false).await
    }

    /// [`Self::call`] for a write that sending twice may do twice (a PATCH `add` of a member):
    /// never sent again once it may have reached Zivver; an unknown outcome is
    /// [`ConnectorError::Uncertain`], for the caller to settle by a read.
    pub async fn call_at_most_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, Failure> {
        self.send_call(method, path, body, true).await
    }

    async fn send_call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        at_most_once: bool,
    ) -> Result<Reply, Failure> {
        let content_type = if method == Method::PATCH {
            wire::CONTENT_TYPE_PATCH
        } else {
            wire::CONTENT_TYPE_JSON
        };
        let repeatable = http::retry::is_idempotent(&method) && !at_most_once;
        let call = JsonCall {
            base: &self.base,
            method,
            path,
            body,
            accept: wire::ACCEPT,
            content_type,
            throttle_budget: self.throttle_budget,
            at_most_once,
        };
        self.http
            .call_json(call, |method, path, resp, attempt| {
                self.interpret(method.clone(), repeatable, path.to_owned(), resp, attempt)
            })
            .await
    }

    /// Turns an answer into a [`Reply`] or a [`Failure`]; a success whose body is not JSON is
    /// judged by [`http::success_body_of`].
    fn interpret(
        &self,
        method: Method,
        repeatable: bool,
        path: String,
        resp: Response,
        attempt: u32,
    ) -> Result<Reply, Garbled> {
        let status = resp.status.as_u16();
        if resp.status.is_success() {
            let body = match http::success_body_of(
                self.target(),
                &method,
                repeatable,
                &path,
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
            return Ok(Reply { status, body });
        }
        let detail = wire::error_text(&resp.body);
        if status == 401 || status == 403 {
            return Err(Garbled::Failure(Failure::Error(
                ConnectorError::Unauthorized {
                    target: self.target().clone(),
                    status,
                    detail,
                },
            )));
        }
        Err(Garbled::Failure(Failure::Refused(Refusal {
            method,
            path,
            status,
            detail,
        })))
    }

    /// Every resource of `endpoint` (`Users`, `Groups`), optionally filtered (`filter` is the
    /// raw filter text). Asks for pages with `startIndex`/`count`, and reads by the rules of
    /// [`Pager`]: it stops at `totalResults` distinct ids, at an empty page, or at a page of
    /// only known ids (a server that ignores paging, as Zivver is expected to); fewer distinct
    /// ids than `totalResults` fails the read. A service that refuses the paging parameters
    /// (400 on the first page) is read with one unpaged GET, as the public clients do.
    pub async fn list(
        &self,
        endpoint: &str,
        filter: Option<&str>,
        page_size: usize,
    ) -> Result<Vec<Value>, ConnectorError> {
        let target = self.target().clone();
        let filter_param = filter
            .map(|f| format!("filter={}", crate::scim::filter::encode_query_value(f)))
            .unwrap_or_default();
        let mut pager = Pager::new(page_size);
        let mut first = true;
        loop {
            let (start, count) = pager.next_request();
            let sep = if filter_param.is_empty() { "" } else { "&" };
            let path = format!("/{endpoint}?{filter_param}{sep}startIndex={start}&count={count}");
            let reply = match self.call(Method::GET, &path, None).await {
                Ok(reply) => reply,
                Err(Failure::Refused(r)) if first && r.status == 400 => {
                    debug!(endpoint, detail = %r.detail, "Paging refused; reading unpaged.");
                    return self.list_unpaged(endpoint, &filter_param).await;
                }
                Err(f) => return Err(f.into_error(&target)),
            };
            first = false;
            let (total, resources) = self.page(endpoint, reply)?;
            match pager.accept(total, resources) {
                Ok(Some(items)) => return Ok(items),
                Ok(None) => {}
                Err(e) => return Err(incomplete(&target, endpoint, &e)),
            }
        }
    }

    async fn list_unpaged(
        &self,
        endpoint: &str,
        filter_param: &str,
    ) -> Result<Vec<Value>, ConnectorError> {
        let target = self.target().clone();
        let path = if filter_param.is_empty() {
            format!("/{endpoint}")
        } else {
            format!("/{endpoint}?{filter_param}")
        };
        let reply = self
            .call(Method::GET, &path, None)
            .await
            .map_err(|f| f.into_error(&target))?;
        let (total, resources) = self.page(endpoint, reply)?;
        let mut seen = HashSet::new();
        let mut items = Vec::with_capacity(resources.len());
        for (index, resource) in resources.into_iter().enumerate() {
            let Some(id) = wire::resource_id(&resource) else {
                return Err(incomplete(
                    &target,
                    endpoint,
                    &PagingError::MissingId { start: 1, index },
                ));
            };
            if seen.insert(id.to_owned()) {
                items.push(resource);
            }
        }
        if let Some(total) = total {
            if items.len() < total {
                return Err(incomplete(
                    &target,
                    endpoint,
                    &format!(
                        "read {} distinct resources of the {total} announced",
                        items.len()
                    ),
                ));
            }
        }
        Ok(items)
    }

    /// `totalResults` and `Resources` of one list answer.
    fn page(
        &self,
        endpoint: &str,
        reply: Reply,
    ) -> Result<(Option<usize>, Vec<Value>), ConnectorError> {
        let protocol = |detail: String| ConnectorError::Protocol {
            target: self.target().clone(),
            detail,
        };
        let body = reply
            .body
            .ok_or_else(|| protocol(format!("/{endpoint}: empty answer to a query")))?;
        let list: ListResponse = serde_json::from_value(body)
            .map_err(|e| protocol(format!("/{endpoint}: not a list answer: {e}")))?;
        let total = list
            .total_results
            .map(|t| usize::try_from(t).unwrap_or(usize::MAX));
        match list.resources {
            Some(resources) => Ok((total, resources)),
            // Only an answer that says it holds nothing may leave `Resources` out.
            None if total == Some(0) => Ok((total, Vec::new())),
            None => Err(protocol(format!(
                "/{endpoint}: the answer has no `Resources`"
            ))),
        }
    }
}

fn incomplete(target: &TargetName, endpoint: &str, e: &dyn std::fmt::Display) -> ConnectorError {
    ConnectorError::IncompleteRead {
        target: target.clone(),
        detail: format!("/{endpoint}: {e}"),
    }
}
