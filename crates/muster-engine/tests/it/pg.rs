//! PostgreSQL for the multi-node tests: a fresh database per test (dropped after), and a TCP
//! proxy on 127.0.0.1 between a node and the server that a test can cut, to lose a node's
//! connection without touching the machine's shared PostgreSQL server.

use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The server the tests use (trust auth); `MUSTER_TEST_POSTGRES_URL` overrides it.
pub fn admin_url() -> String {
    std::env::var("MUSTER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `url` with its database replaced by `db` (and its host and port by `via`, if given).
pub fn url_of(db: &str, via: Option<SocketAddr>) -> String {
    let mut url = url::Url::parse(&admin_url()).unwrap();
    url.set_path(&format!("/{db}"));
    if let Some(addr) = via {
        url.set_host(Some(&addr.ip().to_string())).unwrap();
        url.set_port(Some(addr.port())).unwrap();
    }
    url.to_string()
}

/// Gives the database at `url` the store's schema (every PostgreSQL migration).
pub async fn migrate(url: &str) {
    let options =
        muster_store::PostgresOptions::new(muster_core::secret::Secret::new(url.to_owned()))
            .unwrap();
    muster_store::open_postgres(&options)
        .await
        .unwrap()
        .close()
        .await;
}

/// A database made for one test, dropped by [`TempDb::drop_now`] (or, failing that, on drop).
pub struct TempDb {
    pub name: String,
    dropped: bool,
}

impl TempDb {
    pub async fn create() -> Option<Self> {
        let admin = match sqlx::PgPool::connect(&admin_url()).await {
            Ok(pool) => pool,
            Err(e) if std::env::var("MUSTER_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
                panic!("PostgreSQL is required (MUSTER_REQUIRE_POSTGRES=1) but unreachable: {e}")
            }
            Err(e) => {
                eprintln!(
                    "skipped: PostgreSQL is not reachable at {}: {e}",
                    admin_url()
                );
                return None;
            }
        };
        let name = format!("muster_t_{:016x}", rand::random::<u64>());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        Some(Self {
            name,
            dropped: false,
        })
    }

    pub fn url(&self) -> String {
        url_of(&self.name, None)
    }

    pub async fn drop_now(mut self) {
        drop_db(&self.name).await;
        self.dropped = true;
    }
}

async fn drop_db(name: &str) {
    let admin = sqlx::PgPool::connect(&admin_url()).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // A failed test: drop it from a thread of its own (this one may be a runtime's).
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Runtime::new() {
                rt.block_on(drop_db(&name));
            }
        })
        .join();
    }
}

/// A TCP proxy to the PostgreSQL server that can be cut: every connection through it is
/// closed and new ones are refused, as when the network between a node and the server fails.
pub struct Proxy {
    pub addr: SocketAddr,
    cut: CancellationToken,
    freeze: CancellationToken,
    /// The connections of the server's current "life": cancelled and replaced by
    /// [`Proxy::restart`].
    life: std::sync::Arc<std::sync::Mutex<CancellationToken>>,
    /// While set, new connections are closed at once (the server is down).
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start() -> Self {
        let url = url::Url::parse(&admin_url()).unwrap();
        let host = url.host_str().unwrap().to_owned();
        let port = url.port().unwrap_or(5432);
        let upstream: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .unwrap()
            .next()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = CancellationToken::new();
        let freeze = CancellationToken::new();
        let life = std::sync::Arc::new(std::sync::Mutex::new(CancellationToken::new()));
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (c, f, l, d) = (cut.clone(), freeze.clone(), life.clone(), down.clone());
        let task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = c.cancelled() => return,
                    a = listener.accept() => a,
                };
                let Ok((client, _)) = accepted else { continue };
                if d.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                // Ends with the proxy (cut) or with this life of the server (restart).
                let ends = l.lock().unwrap().child_token();
                let (c, f) = (c.clone(), f.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = ends.cancelled() => {}
                        _ = pipe(client, server, c, f) => {}
                    }
                });
            }
        });
        Self {
            addr,
            cut,
            freeze,
            life,
            down,
            task,
        }
    }

    /// Closes every connection through the proxy and refuses new ones.
    pub fn cut(&self) {
        self.cut.cancel();
    }

    /// As when the PostgreSQL server restarts: every open connection is closed, new ones are
    /// refused for `downtime`, then accepted again.
    pub async fn restart(&self, downtime: std::time::Duration) {
        use std::sync::atomic::Ordering;
        self.down.store(true, Ordering::SeqCst);
        let old = std::mem::take(&mut *self.life.lock().unwrap());
        old.cancel();
        tokio::time::sleep(downtime).await;
        self.down.store(false, Ordering::SeqCst);
    }

    /// Stops forwarding but keeps every connection open, as a partition does: neither side
    /// hears that the other is gone, requests just get no answer.
    pub fn freeze(&self) {
        self.freeze.cancel();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut.cancel();
        self.task.abort();
    }
}

async fn pipe(
    mut client: TcpStream,
    mut server: TcpStream,
    cut: CancellationToken,
    freeze: CancellationToken,
) {
    tokio::select! {
        _ = cut.cancelled() => return,
        _ = freeze.cancelled() => {}
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
    }
    // Frozen: hold both ends open, silent, until the proxy is cut or dropped.
    cut.cancelled().await;
    drop((client, server));
}
