//! Running the service: open the store, bind the listener, start the HTTP
//! workers on the app [`routes::app`] assembles, and shut down cleanly.

use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::HttpServer;

use crate::config::{DatabaseUrl, Settings};
use crate::routes::{self, ApiTokens, HttpSettings, Metrics, RateLimiter};
use crate::storage::postgres::{self, PgOptions, PgStore};
use crate::storage::sqlite::{self, Durability, SqliteOptions, SqliteStore};
use crate::storage::{StorageMetrics, UserStore};
use crate::tls::{self, Tls, TlsError};

/// Why the service could not start; each is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Sqlite(#[from] sqlite::OpenError),
    #[error(transparent)]
    Postgres(#[from] postgres::OpenError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Time a client has to send a request's head.
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Time an idle keep-alive connection is kept open.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// Time a client has to finish the TLS handshake; a client that stalls in
/// it holds a connection no longer than this.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// The open database, whichever backend it is.
enum OpenStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl OpenStore {
    /// Finishes pending writes and closes connections; may block.
    fn close(self) {
        match self {
            Self::Sqlite(store) => store.close(),
            Self::Postgres(store) => store.close(),
        }
    }
}

/// A bound, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    store: OpenStore,
    /// Reloads the TLS certificate while serving.
    tls_watcher: Option<tls::reload::Watcher>,
}

impl Application {
    /// Opens the database (applying migrations) and binds the listener.
    /// Port 0 picks a free port; [`Application::port`] tells which.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        // Checked before the database is touched: a bad certificate fails
        // fast, without migrating anything.
        let tls = settings.tls.clone().map(Tls::load).transpose()?;
        let storage_metrics = StorageMetrics::new();
        let mut collectors = storage_metrics.collectors();
        collectors.extend(tls.iter().flat_map(Tls::collectors));
        let metrics = Metrics::new(collectors);
        let listener = Listener {
            settings: &settings,
            tls,
        };
        match &settings.database {
            DatabaseUrl::Sqlite(path) => {
                let store = SqliteStore::open(&SqliteOptions {
                    path: path.clone(),
                    durability: settings.durability,
                    max_size: settings.max_db_size,
                    read_cache: settings.read_cache,
                    serving: true,
                    readers: reader_pool_size(settings.workers),
                    metrics: storage_metrics.clone(),
                })?;
                let described = format!(
                    "database {} (durability {:?})",
                    path.display(),
                    settings.durability
                );
                let (port, server, tls_watcher) = listener.serve(
                    store.clone(),
                    sqlite::start_reply_relay,
                    metrics,
                    &described,
                )?;
                Ok(Self {
                    port,
                    server,
                    store: OpenStore::Sqlite(store),
                    tls_watcher,
                })
            }
            DatabaseUrl::Postgres(url) => {
                if settings.durability != Durability::Full {
                    log::warn!(
                        "--durability applies to SQLite only; on PostgreSQL the server's \
                         synchronous_commit decides"
                    );
                }
                let store = PgStore::connect(&PgOptions {
                    url: url.clone(),
                    pool_size: settings.db_pool_size.get(),
                    metrics: storage_metrics.clone(),
                })
                .await?;
                let described = format!(
                    "PostgreSQL {} (pool of {})",
                    url.redacted(),
                    settings.db_pool_size
                );
                let (port, server, tls_watcher) =
                    listener.serve(store.clone(), || {}, metrics, &described)?;
                Ok(Self {
                    port,
                    server,
                    store: OpenStore::Postgres(store),
                    tls_watcher,
                })
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server from elsewhere (tests, signal handlers).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM or [`ServerHandle::stop`]: stops accepting,
    /// lets in-flight requests finish, then finishes queued writes,
    /// checkpoints and closes the database.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let watching = self.tls_watcher.map(tls::reload::Watcher::spawn);
        let served = self.server.await;
        if let Some(watching) = watching {
            watching.abort();
        }
        let store = self.store;
        tokio::task::spawn_blocking(move || store.close())
            .await
            .map_err(std::io::Error::other)?;
        log::info!("stopped; database closed");
        served
    }
}

/// Where and how to listen: the address and limits from the settings, and
/// TLS when configured.
struct Listener<'a> {
    settings: &'a Settings,
    tls: Option<Tls>,
}

impl Listener<'_> {
    /// Binds the listener and starts the HTTP workers on `store`, calling
    /// `on_worker` on each worker thread as it starts; returns the port, the
    /// running server and, with TLS, what reloads its certificate.
    fn serve<S: UserStore>(
        self,
        store: S,
        on_worker: fn(),
        metrics: Arc<Metrics>,
        described: &str,
    ) -> Result<(u16, Server, Option<tls::reload::Watcher>), StartupError> {
        let settings = self.settings;
        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Listen {
            addr: settings.bind,
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Listen {
                addr: settings.bind,
                source,
            })?
            .port();
        let http = HttpSettings {
            api_tokens: ApiTokens::new(settings.api_tokens.clone()),
            cors_origins: settings.cors_origins.clone(),
            metrics,
            rate_limiter: settings.rate_limit.map(RateLimiter::new),
            hsts: self.tls.is_some(),
        };
        if http.api_tokens.is_open() && !settings.bind.ip().is_loopback() {
            log::warn!(
                "no API token is set and {} is not a loopback address: anyone who can reach it \
             can read and change users; set --api-token or USER_SERVICE_API_TOKEN",
                settings.bind
            );
        }
        let workers = settings.workers.get();
        let server = HttpServer::new(move || {
            on_worker();
            routes::app(store.clone(), &http)
        })
        .workers(workers)
        // A client must send its request head within this time, or gets
        // 408 and is closed: a slow-loris connection cannot sit forever.
        .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
        .client_disconnect_timeout(Duration::from_secs(1))
        // Idle keep-alive connections are closed after this.
        .keep_alive(KEEP_ALIVE)
        // Past this many open connections the server stops accepting
        // (new ones wait in the backlog) instead of running out of
        // memory or file descriptors.
        .max_connections(settings.max_connections.get().div_ceil(workers))
        .backlog(2048)
        .tls_handshake_timeout(TLS_HANDSHAKE_TIMEOUT);
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        // Listening for SIGHUP before the server says it serves.
        let watcher = self
            .tls
            .as_ref()
            .map(|tls| tls::reload::Watcher::new(Arc::clone(&tls.reloadable)));
        let server = match self.tls {
            Some(tls) => {
                let completed = tls.handshakes_completed();
                server
                    .on_connect(move |_, _| completed.inc())
                    .listen_rustls_0_23(listener, tls.config)
            }
            None => server.listen(listener),
        }
        .map_err(|source| StartupError::Listen {
            addr: settings.bind,
            source,
        })?
        .run();
        log::info!(
            "serving on {scheme}://{}:{port} with {described}, {} workers",
            settings.bind.ip(),
            settings.workers
        );
        Ok((port, server, watcher))
    }
}

/// Read connections: enough for every worker to have reads in flight while
/// others wait on the blocking pool.
fn reader_pool_size(workers: NonZeroUsize) -> u32 {
    u32::try_from(workers.get().saturating_mul(2).max(4)).unwrap_or(64)
}
