//! SCIM over the shared HTTP layer: URLs under the base URL, SCIM content types, error bodies,
//! and the paging rules of `targets/scim.md` §2 as a pure state machine ([`Pager`]).
//!
//! It turns answers into [`Reply`] or [`Failure`]; what a status *means* for an operation (a
//! 404 is "account gone" on a user, "group gone" on a group) is decided in
//! [`super::connector`].

use super::wire::{self, ListResponse};
use crate::http::{
    self, HttpClient, HttpError, Method, Refused, Request, Response, SuccessBody, Url,
};
use muster_core::connector::ConnectorError;
use muster_core::TargetName;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, IF_MATCH};
use serde_json::Value;
use std::collections::HashSet;
use tracing::debug;

/// A 2xx answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The `ETag` header, or else `meta.version` of the body.
    pub etag: Option<String>,
    /// `None` for an empty body (204, or a 200 without one).
    pub body: Option<Value>,
}

/// A non-2xx answer, still to be interpreted by the caller.
#[derive(Debug)]
pub struct Refusal {
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub scim_type: Option<String>,
    pub detail: String,
}

impl Refusal {
    pub fn is(&self, status: u16, scim_type: &str) -> bool {
        self.status == status
            && self
                .scim_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(scim_type))
    }
}

impl Refused for Refusal {
    fn rejected(self, target: &TargetName) -> ConnectorError {
        ConnectorError::Rejected {
            target: target.clone(),
            method: self.method.to_string(),
            path: self.path,
            status: self.status,
            detail: self.detail,
        }
    }
}

pub type Failure = http::Failure<Refusal>;
type Garbled = http::Garbled<Refusal>;

#[derive(Debug)]
pub struct ScimClient {
    http: HttpClient,
    /// Without a trailing `/`.
    base: String,
}

impl ScimClient {
    pub fn new(http: HttpClient, base_url: &str) -> Self {
        Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn target(&self) -> &TargetName {
        self.http.target()
    }

    /// Sends one SCIM request. `path` is relative to the base URL and may carry a query that
    /// is already percent-encoded.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Reply, Failure> {
        self.send_call(method, path, body, if_match, false).await
    }

    /// [`Self::call`] for a write that sending twice may do twice (a PATCH `add` of a member):
    /// never sent again once it may have reached the server; an unknown outcome is
    /// [`ConnectorError::Uncertain`], for the caller to settle by a read.
    pub async fn call_at_most_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, Failure> {
        self.send_call(method, path, body, None, true).await
    }

    async fn send_call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
        at_most_once: bool,
    ) -> Result<Reply, Failure> {
        // For messages: the path without its query (a filter may hold personal data).
        let bare = path.split('?').next().unwrap_or(path).to_owned();
        let url =
            Url::parse(&format!("{}{path}", self.base)).map_err(|e| ConnectorError::Config {
                target: self.target().clone(),
                detail: format!("cannot build a URL for {bare}: {e}"),
            })?;
        let mut req = Request::new(method.clone(), url)
            .header(ACCEPT, HeaderValue::from_static(wire::ACCEPT));
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body).map_err(|e| ConnectorError::Protocol {
                target: self.target().clone(),
                detail: format!("cannot encode a request body: {e}"),
            })?;
            req = req
                .header(CONTENT_TYPE, HeaderValue::from_static(wire::CONTENT_TYPE))
                .body(bytes);
        }
        if let Some(tag) = if_match {
            if let Ok(v) = HeaderValue::from_str(tag) {
                req = req.header(IF_MATCH, v);
            }
        }
        if at_most_once {
            req = req.at_most_once();
        }
        let repeatable = req.repeatable();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let resp = self
                .http
                .send(&req)
                .await
                .map_err(|e| self.transport_error(&method, &bare, e))?;
            match self.interpret(method.clone(), repeatable, bare.clone(), resp, attempt) {
                Err(Garbled::Again) => continue,
                Err(Garbled::Failure(f)) => return Err(f),
                Ok(reply) => return Ok(reply),
            }
        }
    }

    fn transport_error(&self, method: &Method, path: &str, e: HttpError) -> Failure {
        Failure::Error(http::transport_error(self.target(), method, path, e))
    }

    /// Turns an answer into a [`Reply`] or a [`Failure`]; a success whose body is not JSON is
    /// judged by [`http::success_body`].
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
            let etag = resp.header_str("etag").map(str::to_owned).or_else(|| {
                body.as_ref()
                    .and_then(wire::resource_version)
                    .map(str::to_owned)
            });
            return Ok(Reply { status, etag, body });
        }
        let (scim_type, detail) = wire::error_detail(&resp.body);
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
            scim_type,
            detail,
        })))
    }

    /// Every resource of `endpoint` (`Users`, `Groups`), optionally filtered (`filter` is the
    /// raw filter text) and without the attributes named in `excluded` (`excludedAttributes`,
    /// RFC 7644 §3.9, e.g. a group's `members`), read by the paging rules of [`Pager`].
    pub async fn read_all(
        &self,
        endpoint: &str,
        filter: Option<&str>,
        excluded: Option<&str>,
        page_size: usize,
    ) -> Result<Vec<Value>, ConnectorError> {
        let target = self.target().clone();
        let mut pager = Pager::new(page_size);
        let param = |name: &str, value: Option<&str>| {
            value
                .map(|v| format!("{name}={}&", super::filter::encode_query_value(v)))
                .unwrap_or_default()
        };
        let filter_param = format!(
            "{}{}",
            param("filter", filter),
            param("excludedAttributes", excluded)
        );
        loop {
            let (start, count) = pager.next_request();
            let path = format!("/{endpoint}?{filter_param}startIndex={start}&count={count}");
            let reply = match self.call(Method::GET, &path, None, None).await {
                Ok(reply) => reply,
                Err(Failure::Refused(r)) if r.is(400, "tooMany") => {
                    if pager.too_many() {
                        continue;
                    }
                    return Err(ConnectorError::IncompleteRead {
                        target,
                        detail: format!(
                            "/{endpoint}: the server refuses pages of {count} as too many, even at the smallest page size: {}",
                            r.detail
                        ),
                    });
                }
                Err(f) => return Err(f.into_error(&target)),
            };
            let page: ListResponse = match reply.body {
                Some(body) => {
                    serde_json::from_value(body).map_err(|e| ConnectorError::Protocol {
                        target: target.clone(),
                        detail: format!("/{endpoint}: not a ListResponse: {e}"),
                    })?
                }
                None => {
                    return Err(ConnectorError::Protocol {
                        target,
                        detail: format!("/{endpoint}: empty answer to a query"),
                    })
                }
            };
            let total = page
                .total_results
                .map(|t| usize::try_from(t).unwrap_or(usize::MAX));
            match pager.accept(total, page.resources) {
                Ok(Some(items)) => return Ok(items),
                Ok(None) => {}
                Err(e) => {
                    return Err(ConnectorError::IncompleteRead {
                        target,
                        detail: format!("/{endpoint}: {e}"),
                    })
                }
            }
        }
    }
}

/// Smallest page size `tooMany` may push the read down to.
pub const MIN_PAGE_SIZE: usize = 10;
/// Pages one read may take before it is abandoned, so a server that invents ids forever
/// cannot keep a run busy.
pub const MAX_PAGES: usize = 100_000;

/// The paging rules of `targets/scim.md` §2, with no I/O:
/// - `count` is the page size; the next `startIndex` adds the items *returned*;
/// - the read ends at `totalResults` distinct ids, at an empty page, or at a page of only
///   known ids (a server that ignores paging);
/// - results are de-duplicated by `id`;
/// - a shortfall against `totalResults` is read again once from the start, and a second
///   shortfall fails the read.
#[derive(Debug)]
pub struct Pager {
    page_size: usize,
    floor: usize,
    next_start: usize,
    total: Option<usize>,
    seen: HashSet<String>,
    items: Vec<Value>,
    rereads_left: u8,
    pages: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    #[error("resource {index} of the page at startIndex {start} has no `id`")]
    MissingId { start: usize, index: usize },
    #[error("read {got} distinct resources of the {total} announced, twice")]
    Shortfall { got: usize, total: usize },
    #[error("gave up after {0} pages")]
    TooManyPages(usize),
}

impl Pager {
    pub fn new(page_size: usize) -> Self {
        let page_size = page_size.max(1);
        Self {
            page_size,
            floor: MIN_PAGE_SIZE.min(page_size),
            next_start: 1,
            total: None,
            seen: HashSet::new(),
            items: Vec::new(),
            rereads_left: 1,
            pages: 0,
        }
    }

    /// `(startIndex, count)` of the next page to ask for.
    pub fn next_request(&self) -> (usize, usize) {
        (self.next_start, self.page_size)
    }

    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The server said `tooMany`: halve the page size. `false` when it is already at the
    /// floor, and the read must fail.
    pub fn too_many(&mut self) -> bool {
        if self.page_size <= self.floor {
            return false;
        }
        self.page_size = (self.page_size / 2).max(self.floor);
        true
    }

    /// Takes one page. `Ok(Some(items))` when the read is complete, `Ok(None)` to fetch
    /// [`Self::next_request`].
    pub fn accept(
        &mut self,
        total: Option<usize>,
        resources: Vec<Value>,
    ) -> Result<Option<Vec<Value>>, PagingError> {
        self.pages += 1;
        if self.pages > MAX_PAGES {
            return Err(PagingError::TooManyPages(MAX_PAGES));
        }
        if total.is_some() {
            self.total = total;
        }
        let returned = resources.len();
        let mut fresh = 0;
        for (index, resource) in resources.into_iter().enumerate() {
            let Some(id) = wire::resource_id(&resource) else {
                return Err(PagingError::MissingId {
                    start: self.next_start,
                    index,
                });
            };
            if self.seen.insert(id.to_owned()) {
                self.items.push(resource);
                fresh += 1;
            }
        }
        let complete = self.total.is_some_and(|t| self.seen.len() >= t);
        if returned > 0 && fresh > 0 && !complete {
            self.next_start += returned;
            return Ok(None);
        }
        match self.total {
            Some(total) if self.seen.len() < total => {
                if self.rereads_left == 0 {
                    return Err(PagingError::Shortfall {
                        got: self.seen.len(),
                        total,
                    });
                }
                self.rereads_left -= 1;
                self.seen.clear();
                self.items.clear();
                self.total = None;
                self.next_start = 1;
                Ok(None)
            }
            _ => Ok(Some(std::mem::take(&mut self.items))),
        }
    }
}
