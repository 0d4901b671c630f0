//! The HTTP accept loop every simulator runs on, and the handle of a running one.
//!
//! It exists instead of `axum::serve` for one reason: to drop a connection honestly. A handler
//! can only produce a response; here a response marked [`DropConnection`] becomes a service
//! error, and hyper then closes the connection without writing a byte, so the client sees a
//! transport error (an incomplete message), never an HTTP status. Routing and state stay with
//! each simulator's `Router`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::faults::DropConnection;

/// The error hyper receives for a dropped response; it closes the connection on any error.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by simulator")]
struct Dropped;

/// Serves `router` on `listener` until `shutdown` resolves. Open connections are cut at shutdown
/// rather than drained: a simulator going away mid-request is one more failure a client meets.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    conns.spawn(serve_connection(stream, peer, router.clone()));
                }
                Err(err) => {
                    // Typically out of file descriptors; pausing lets connections finish.
                    tracing::warn!(%err, "Simulator accept failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    Ok(())
}

async fn serve_connection(stream: tokio::net::TcpStream, peer: SocketAddr, router: Router) {
    let svc = service_fn(move |req: hyper::Request<Incoming>| {
        let router = router.clone();
        async move {
            let resp = match router.oneshot(req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            };
            if resp.extensions().get::<DropConnection>().is_some() {
                return Err(Dropped);
            }
            Ok::<_, Dropped>(resp)
        }
    });
    if let Err(err) = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), svc)
        .await
    {
        tracing::debug!(%peer, %err, "Simulator connection ended.");
    }
}

/// A simulator serving in the background. Dropping it stops the server and cuts its connections.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// Spawns [`serve_router`] on `listener`.
    pub fn spawn(listener: TcpListener, router: Router) -> io::Result<Self> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_router(listener, router, async move {
            // A dropped sender stops the server too.
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits until it has let go of the port.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(res) => res,
                Err(join) => Err(io::Error::other(join)),
            },
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
