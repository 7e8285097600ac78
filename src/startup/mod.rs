//! Running the service: open the store, bind the listener, start the HTTP
//! workers on the app `routes::app` assembles, and shut down cleanly.
//! `listener` serves HTTP/1.1 and HTTP/2 over `connection`s, plain or TLS,
//! with a bound on each HTTP/2 connection's requests (`streams`).

mod connection;
mod error;
mod listener;
mod streams;

use std::num::NonZeroUsize;

use actix_web::dev::{Server, ServerHandle};

use crate::config::{DatabaseUrl, Settings};
use crate::routes::Metrics;
use crate::storage::postgres::{PgOptions, PgStore};
use crate::storage::sqlite::{self, Durability, SqliteOptions, SqliteStore};
use crate::storage::StorageMetrics;
use crate::tls::{self, Tls};

pub use self::error::StartupError;
use self::listener::{Listener, Serving};
pub use self::streams::{MAX_STREAMS_IN_FLIGHT, MAX_STREAMS_WAITING};

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
                    mmap_size: settings.mmap_size,
                    serving: true,
                    backups: settings.backups.clone(),
                    readers: reader_pool_size(settings.workers),
                    metrics: storage_metrics.clone(),
                    key_ttl: settings.idempotency_ttl,
                })?;
                let described = format!(
                    "database {} (durability {:?})",
                    path.display(),
                    settings.durability
                );
                let serving = listener.serve(
                    store.clone(),
                    sqlite::start_reply_relay,
                    metrics,
                    &described,
                )?;
                Ok(Self::new(serving, OpenStore::Sqlite(store)))
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
                    key_ttl: settings.idempotency_ttl,
                })
                .await?;
                let described = format!(
                    "PostgreSQL {} (pool of {})",
                    url.redacted(),
                    settings.db_pool_size
                );
                let serving = listener.serve(store.clone(), || {}, metrics, &described)?;
                Ok(Self::new(serving, OpenStore::Postgres(store)))
            }
        }
    }

    fn new(serving: Serving, store: OpenStore) -> Self {
        Self {
            port: serving.port,
            server: serving.server,
            store,
            tls_watcher: serving.tls_watcher,
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

/// Read connections: enough for every worker to have reads in flight while
/// others wait on the blocking pool.
fn reader_pool_size(workers: NonZeroUsize) -> u32 {
    u32::try_from(workers.get().saturating_mul(2).max(4)).unwrap_or(64)
}
