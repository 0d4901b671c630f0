//! HelloID's API over the shared HTTP layer: URLs under `base_url` (which holds `/api/v1`),
//! JSON bodies, error texts from `resultMsg`/`message`, 429s waited out for as long as the
//! retry budget allows, and the paged reads (`skip`/`take`, both page shapes).
//!
//! It turns answers into [`Reply`] or [`Failure`]; what a refusal *means* for an operation (a
//! 404 is "account gone" on `/users/{guid}`, maybe "group gone" on a membership) is decided by
//! the callers in [`super::connector`] and its siblings.

use super::wire;
use crate::http::{self, HttpClient, JsonCall, Method, Response, SuccessBody};
use muster_core::connector::ConnectorError;
use muster_core::TargetName;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tokio::time::Instant;
use tracing::debug;

/// A 2xx answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// `None` for an empty body (204).
    pub body: Option<Value>,
}

pub use crate::http::Refusal;

impl Refusal {
    /// The refusal says the user the request names does not exist: 404 or `User not found`.
    /// Only meaningful for paths about one user (`/users/{guid}`).
    pub fn user_not_found(&self) -> bool {
        wire::user_not_found(self.status, &self.detail)
    }

    /// The text is `User not found`, whatever the status (for paths that name a user and
    /// something else, where a bare 404 could be either).
    pub fn says_user_not_found(&self) -> bool {
        wire::says_user_not_found(&self.detail)
    }
}

pub type Failure = http::Failure<Refusal>;
type Garbled = http::Garbled<Refusal>;

/// The identity of one item of a list, for de-duplication across pages.
pub type ItemKey = fn(&Value) -> Option<String>;

/// The most items one paged list may hold. Paging ends only when the server sends a short
/// page, so a server that keeps sending full pages of new ids (a paging bug, a proxy
/// replaying pages with fresh GUIDs) would otherwise be read forever. A million is far above
/// any tenant's users, groups or product assignments, and reached at `take = 1000` after
/// 1 001 requests, a couple of minutes at the default rate.
pub const MAX_LIST_ITEMS: usize = 1_000_000;

/// The longest one paged list may take, all pages together. Each request is bounded on its
/// own (timeout, attempts, throttle budget), but their sum is not: a tenant that throttles
/// every page would hold the run for days. An hour is over thirty times a full read of
/// [`MAX_LIST_ITEMS`] at the default rate.
pub const MAX_LIST_TIME: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct HelloIdClient {
    http: HttpClient,
    /// `base_url` without a trailing `/`.
    base: String,
    /// How long one request may keep being answered 429 before it is given up.
    throttle_budget: Duration,
    /// [`MAX_LIST_ITEMS`]; lower in tests.
    max_list_items: usize,
    /// [`MAX_LIST_TIME`]; lower in tests.
    max_list_time: Duration,
}

impl HelloIdClient {
    pub fn new(http: HttpClient, api_url: &str, throttle_budget: Duration) -> Self {
        Self {
            http,
            base: api_url.trim_end_matches('/').to_owned(),
            throttle_budget,
            max_list_items: MAX_LIST_ITEMS,
            max_list_time: MAX_LIST_TIME,
        }
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    pub fn target(&self) -> &TargetName {
        self.http.target()
    }

    /// Sends one request. `path` starts with `/`, is relative to the API URL, has every
    /// value in it already escaped, and may carry a query.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, Failure> {
        let call = JsonCall {
            base: &self.base,
            method,
            path,
            body,
            accept: wire::JSON,
            content_type: wire::JSON,
            throttle_budget: self.throttle_budget,
            at_most_once: false,
        };
        self.http
            .call_json(call, |method, path, resp, attempt| {
                self.interpret(method, path, resp, attempt)
            })
            .await
    }

    /// Turns an answer into a [`Reply`] or a [`Failure`]; a success whose body is not JSON is
    /// judged by [`http::success_body`].
    fn interpret(
        &self,
        method: &Method,
        path: &str,
        resp: Response,
        attempt: u32,
    ) -> Result<Reply, Garbled> {
        let status = resp.status.as_u16();
        if resp.status.is_success() {
            return match http::success_body(
                self.target(),
                method,
                path,
                status,
                &resp.body,
                attempt,
            ) {
                SuccessBody::Json(body) => Ok(Reply { status, body }),
                SuccessBody::Again => {
                    debug!(method = %method, path, attempt, "Answer is not JSON; sending again.");
                    Err(Garbled::Again)
                }
                SuccessBody::Failed(e) => Err(Garbled::Failure(Failure::Error(e))),
            };
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
            method: method.clone(),
            path: path.to_owned(),
            status,
            detail,
        })))
    }

    /// Every item of a paged list, for a full read: any failure is an
    /// [`ConnectorError::IncompleteRead`], except refused credentials and throttling that
    /// outlasted the budget, which keep their own meaning. See [`Self::list_pages`].
    pub async fn list(
        &self,
        path: &str,
        key: ItemKey,
        take: usize,
    ) -> Result<Vec<Value>, ConnectorError> {
        self.list_pages(path, key, take)
            .await
            .map_err(|f| match f.into_error(self.target()) {
                e @ (ConnectorError::Unauthorized { .. }
                | ConnectorError::RateLimited { .. }
                | ConnectorError::IncompleteRead { .. }) => e,
                other => self.incomplete(path, None, &other.to_string()),
            })
    }

    /// Every item of a paged list. `path` may carry a query of its own (`/users?isDeleted=true`);
    /// `skip` and `take` are appended. Reads while a page holds exactly `take` items, as the
    /// public connector does, and de-duplicates by `key`. Never returns a partial list: a page
    /// that is no list, an item without its id, or a full page of only known ids (a server
    /// that ignores `skip`) is an [`ConnectorError::IncompleteRead`]; a refusal is handed
    /// back for the caller to read (a user's assignments: `User not found`).
    ///
    /// Bounded in count and time: at most [`MAX_LIST_ITEMS`]` / take + 1` pages (the last
    /// one may be the empty page after a full one), within [`MAX_LIST_TIME`]; a list that
    /// needs more is an [`ConnectorError::IncompleteRead`] naming the limit.
    pub async fn list_pages(
        &self,
        path: &str,
        key: ItemKey,
        take: usize,
    ) -> Result<Vec<Value>, Failure> {
        let take = take.max(1);
        let sep = if path.contains('?') { '&' } else { '?' };
        let max_pages = self.max_list_items / take + 1;
        let started = Instant::now();
        let mut seen = HashSet::new();
        let mut items = Vec::new();
        let mut skip = 0usize;
        for page_number in 1..=max_pages {
            if page_number > 1 && started.elapsed() > self.max_list_time {
                let detail = format!(
                    "still paging after {} s ({} pages, {} items): over the {} s a list may take",
                    started.elapsed().as_secs(),
                    page_number - 1,
                    items.len(),
                    self.max_list_time.as_secs()
                );
                return Err(self.incomplete(path, Some(skip), &detail).into());
            }
            let page_path = format!("{path}{sep}skip={skip}&take={take}");
            let reply = self.call(Method::GET, &page_path, None).await?;
            let page =
                wire::page_items(reply.body).map_err(|e| self.incomplete(path, Some(skip), &e))?;
            let full = page.len() == take;
            let mut fresh = 0usize;
            for (index, item) in page.into_iter().enumerate() {
                let Some(id) = key(&item) else {
                    let detail = format!("item {index} has no id ({})", wire::kind_of(&item));
                    return Err(self.incomplete(path, Some(skip), &detail).into());
                };
                if seen.insert(id) {
                    fresh += 1;
                    items.push(item);
                }
            }
            if !full {
                debug!(path, items = items.len(), "List read.");
                return Ok(items);
            }
            if fresh == 0 {
                let detail = "a full page of items already read: the server seems to ignore `skip`";
                return Err(self.incomplete(path, Some(skip), detail).into());
            }
            skip += take;
        }
        let detail = format!(
            "{max_pages} full pages of {take} and no end: over the {} items a list may hold, \
             so the server seems to page endlessly",
            self.max_list_items
        );
        Err(self.incomplete(path, Some(skip), &detail).into())
    }

    fn incomplete(&self, path: &str, skip: Option<usize>, detail: &str) -> ConnectorError {
        let at = skip.map(|s| format!(" at skip={s}")).unwrap_or_default();
        ConnectorError::IncompleteRead {
            target: self.target().clone(),
            detail: format!("GET {path}{at}: {detail}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::retry::RetryPolicy;
    use crate::http::{Auth, HttpConfig};
    use muster_core::secret::Secret;
    use muster_sim::{HelloIdSim, HelloIdSimConfig, RunningHelloIdSim};
    use serde_json::json;

    /// A simulator holding `users` users, and a client to it.
    async fn sim_with_users(users: usize) -> (RunningHelloIdSim, HelloIdClient) {
        let sim = HelloIdSim::start(HelloIdSimConfig::default())
            .await
            .unwrap();
        for i in 0..users {
            sim.state
                .seed_user(json!({ "userName": format!("u{i:02}@x"), "isEnabled": true }))
                .unwrap();
        }
        let http = HttpClient::new(
            "helloid".into(),
            &HttpConfig {
                timeout: Duration::from_secs(5),
                ca_file: None,
                requests: 10_000,
                per: Duration::from_secs(1),
                concurrency: 2,
                retry: RetryPolicy::default(),
                auth: Auth::Basic {
                    username: "helloid-key".into(),
                    password: Secret::new("helloid-secret"),
                },
            },
        )
        .unwrap();
        let client = HelloIdClient::new(http, &sim.api_url(), Duration::from_secs(5));
        (sim, client)
    }

    fn guid(v: &Value) -> Option<String> {
        wire::str_field(v, wire::USER_GUID).map(str::to_owned)
    }

    #[tokio::test]
    async fn a_list_longer_than_the_item_cap_fails_by_naming_the_cap() {
        let (_sim, mut client) = sim_with_users(30).await;
        // 10 items at take 5: 3 pages at most, where 30 users need 7.
        client.max_list_items = 10;
        let err = client.list("/users", guid, 5).await.unwrap_err();
        let ConnectorError::IncompleteRead { detail, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(
            detail.contains("3 full pages of 5") && detail.contains("10 items"),
            "{detail}"
        );
        assert_eq!(
            client.http().counters().snapshot().get,
            3,
            "stopped at the cap"
        );
        // Exactly at the cap: 6 full pages and the empty one after them.
        client.max_list_items = 30;
        assert_eq!(client.list("/users", guid, 5).await.unwrap().len(), 30);
    }

    #[tokio::test]
    async fn a_list_that_outlasts_its_time_fails_by_naming_the_limit() {
        let (_sim, mut client) = sim_with_users(12).await;
        client.max_list_time = Duration::ZERO;
        let err = client.list("/users", guid, 5).await.unwrap_err();
        let ConnectorError::IncompleteRead { detail, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(detail.contains("over the 0 s a list may take"), "{detail}");
        assert_eq!(client.http().counters().snapshot().get, 1);
        // One page needs no time check.
        assert_eq!(client.list("/users", guid, 20).await.unwrap().len(), 12);
    }
}
