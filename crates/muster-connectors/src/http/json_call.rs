//! One JSON request of a connector client, from URL to answer — the part the Zivver, HelloID
//! and Zermelo clients share; each keeps only its reading of an answer (`interpret`).

use super::{transport_error, Failure, Garbled, HttpClient, HttpError, Method, Request, Response};
use muster_core::connector::ConnectorError;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::Url;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;
use tracing::debug;

/// What to send: `path` starts with `/`, is relative to `base`, has every value in it already
/// escaped, and may carry a query (left out of logs and errors: it may hold a person's code).
pub(crate) struct JsonCall<'a> {
    pub base: &'a str,
    pub method: Method,
    pub path: &'a str,
    pub body: Option<&'a Value>,
    pub accept: &'static str,
    pub content_type: &'static str,
    /// How long 429s are waited out before the call fails as rate limited.
    pub throttle_budget: Duration,
    /// Never sent again once it may have reached the target ([`Request::at_most_once`]).
    pub at_most_once: bool,
}

impl HttpClient {
    /// Sends `call`, waits out 429s within its budget (nothing was applied, so any method may
    /// go again; the shared layer has already paused every worker of the target), and sends
    /// again while `interpret` finds the answer garbled ([`Garbled::Again`], bounded there by
    /// [`super::GARBLED_ATTEMPTS`]). `interpret` gets the method, the path without its query,
    /// the answer and the attempt number.
    pub(crate) async fn call_json<T, R>(
        &self,
        call: JsonCall<'_>,
        mut interpret: impl FnMut(&Method, &str, Response, u32) -> Result<T, Garbled<R>>,
    ) -> Result<T, Failure<R>> {
        let method = call.method;
        let bare = call.path.split('?').next().unwrap_or(call.path);
        let url = Url::parse(&format!("{}{}", call.base, call.path)).map_err(|e| {
            ConnectorError::Config {
                target: self.target().clone(),
                detail: format!("cannot build a URL for {bare}: {e}"),
            }
        })?;
        let mut req =
            Request::new(method.clone(), url).header(ACCEPT, HeaderValue::from_static(call.accept));
        if let Some(body) = call.body {
            let bytes = serde_json::to_vec(body).map_err(|e| ConnectorError::Protocol {
                target: self.target().clone(),
                detail: format!("cannot encode a request body: {e}"),
            })?;
            req = req
                .header(CONTENT_TYPE, HeaderValue::from_static(call.content_type))
                .body(bytes);
        }
        if call.at_most_once {
            req = req.at_most_once();
        }
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let resp = loop {
                match self.send(&req).await {
                    Ok(resp) => break resp,
                    Err(HttpError::Throttled {
                        attempts,
                        retry_after,
                    }) if waits_within(started.elapsed(), retry_after, call.throttle_budget) => {
                        debug!(method = %method, path = %bare, attempts, "Still rate limited; waiting on.");
                    }
                    Err(e) => {
                        return Err(Failure::Error(transport_error(
                            self.target(),
                            &method,
                            bare,
                            e,
                        )))
                    }
                }
            };
            match interpret(&method, bare, resp, attempt) {
                Err(Garbled::Again) => continue,
                Err(Garbled::Failure(f)) => return Err(f),
                Ok(reply) => return Ok(reply),
            }
        }
    }
}

/// Whether waiting out a 429 fits the throttle budget: the time spent so far and the wait the
/// target asked for (none told: the backoff decides) stay within it. A wait that cannot fit
/// ends the call at once instead of after the budget is spent.
fn waits_within(elapsed: Duration, told: Option<Duration>, budget: Duration) -> bool {
    elapsed + told.unwrap_or_default() < budget
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_beyond_the_budget_is_not_waited() {
        let budget = Duration::from_secs(600);
        let s = Duration::from_secs;
        assert!(waits_within(s(0), Some(s(30)), budget));
        assert!(waits_within(s(500), None, budget));
        assert!(!waits_within(s(0), Some(s(3_600)), budget));
        assert!(!waits_within(s(590), Some(s(30)), budget));
        assert!(!waits_within(s(600), None, budget));
    }
}
