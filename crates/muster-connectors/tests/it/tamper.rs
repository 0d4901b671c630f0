//! A man in the middle for a simulator's router: serves it on 127.0.0.1 and lets a test decide,
//! per request, to pass it on, drop the connection, or answer something else, before the
//! simulator sees the request or after it has applied it. The simulators' own fault switches
//! act on every request alike; this picks one request out (only the placement POST, only the
//! look-up of one user), so a test can make exactly that answer go missing or differ.

use hyper::body::{Body, Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// What happens to one exchange.
pub enum Verdict {
    /// Pass it on: to the simulator (before), or its answer to the client (after).
    Pass,
    /// Close the connection without an answer. Before: the simulator never sees the request.
    /// After: it was applied, and the answer is lost.
    Drop,
    /// Answer with this status and JSON body instead (after: the request was applied).
    Answer(u16, String),
}

/// Called twice per request: with `None` before it reaches the simulator, and with the
/// simulator's status and body after (unless the first call did not pass it on). Gets the
/// method and the path with its query.
pub type Hook = Arc<dyn Fn(&Method, &str, Option<(u16, &str)>) -> Verdict + Send + Sync>;

/// Serves `router` through `hook` until the test ends; returns `http://127.0.0.1:PORT`.
pub async fn serve<S, B>(router: S, hook: Hook) -> String
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display,
{
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (router, hook) = (router.clone(), hook.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let (router, hook) = (router.clone(), hook.clone());
                    async move { exchange(router, hook, req).await }
                });
                // A dropped exchange ends the connection with an error: nothing to report.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    base
}

async fn exchange<S, B>(
    router: S,
    hook: Hook,
    req: Request<Incoming>,
) -> Result<Response<String>, std::io::Error>
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>,
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    match hook(&method, &path, None) {
        Verdict::Pass => {}
        Verdict::Drop => return Err(dropped()),
        Verdict::Answer(status, body) => return Ok(answer(status, body)),
    }
    let Ok(resp) = router.oneshot(req).await;
    let (parts, body) = resp.into_parts();
    let bytes = collect(body).await?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match hook(&method, &path, Some((parts.status.as_u16(), &text))) {
        Verdict::Pass => Ok(Response::from_parts(parts, text)),
        Verdict::Drop => Err(dropped()),
        Verdict::Answer(status, body) => Ok(answer(status, body)),
    }
}

fn dropped() -> std::io::Error {
    std::io::Error::other("answer dropped by the test")
}

fn answer(status: u16, body: String) -> Response<String> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

async fn collect<B>(body: B) -> Result<Vec<u8>, std::io::Error>
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|e| std::io::Error::other(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}
