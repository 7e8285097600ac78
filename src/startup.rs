//! Building and running the application: open the store, bind the listener,
//! assemble the actix `App`, and shut down cleanly.

use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, Condition};
use actix_web::{App, HttpServer};

use crate::config::{DatabaseUrl, ServeArgs};
use crate::routes::{self, ApiTokens, Metrics, RateLimitSetting, RateLimiter};
use crate::storage::postgres::{self, PgOptions, PgStore};
use crate::storage::sqlite::{self, Durability, SqliteOptions, SqliteStore};
use crate::storage::{StorageMetrics, UserStore};

/// Everything `serve` needs, already validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseUrl,
    /// SQLite only; PostgreSQL's durability is the server's setting.
    pub durability: Durability,
    /// SQLite only: the most bytes the database file may take; `None` for no cap.
    pub max_db_size: Option<u64>,
    /// SQLite only: users kept in memory for reads by id (0: none).
    pub read_cache: usize,
    /// PostgreSQL only: connections this instance keeps at most.
    pub db_pool_size: NonZeroUsize,
    pub bind: SocketAddr,
    pub workers: NonZeroUsize,
    pub api_tokens: Vec<String>,
    pub cors_origins: Vec<String>,
    /// Requests per second and burst per client address; `None`: no limit.
    pub rate_limit: Option<RateLimitSetting>,
    /// Open connections the whole server accepts at once.
    pub max_connections: NonZeroUsize,
}

impl TryFrom<ServeArgs> for Settings {
    type Error = String;

    /// Fails when the API token file cannot be used, or a SQLite-only
    /// setting is given for PostgreSQL.
    fn try_from(args: ServeArgs) -> Result<Self, Self::Error> {
        let api_tokens = args.api_tokens()?;
        let database = args.database.database_url;
        if matches!(database, DatabaseUrl::Postgres(_)) && args.max_db_size.is_some() {
            return Err(
                "--max-db-size caps a SQLite file; on PostgreSQL use the server's own \
                 disk quotas"
                    .into(),
            );
        }
        if matches!(database, DatabaseUrl::Postgres(_)) && args.read_cache.is_some() {
            return Err(
                "--read-cache is SQLite only: on PostgreSQL other instances change users \
                 behind this one's back"
                    .into(),
            );
        }
        Ok(Self {
            database,
            durability: args.durability.into(),
            max_db_size: args.max_db_size,
            read_cache: args.read_cache.unwrap_or(DEFAULT_READ_CACHE),
            db_pool_size: args.db_pool_size,
            bind: args.bind,
            workers: args.workers.unwrap_or_else(default_workers),
            api_tokens,
            cors_origins: args.cors_origins,
            rate_limit: args.rate_limit.map(|rate| RateLimitSetting {
                rate,
                burst: args.rate_limit_burst.unwrap_or(rate.one_second()),
            }),
            max_connections: args.max_connections,
        })
    }
}

/// Users the SQLite backend keeps in memory unless told otherwise: about
/// 25 MB when full (measured), within the 64 MB the service aims to stay
/// under with 1M users.
pub const DEFAULT_READ_CACHE: usize = 100_000;

fn default_workers() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// Why the service could not start; each is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Sqlite(#[from] sqlite::OpenError),
    #[error(transparent)]
    Postgres(#[from] postgres::OpenError),
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

/// HTTP settings the app factory needs in every worker.
#[derive(Clone)]
pub struct HttpSettings {
    pub api_tokens: ApiTokens,
    pub cors_origins: Vec<String>,
    /// The service's metrics; every worker records into the same registry.
    pub metrics: Arc<Metrics>,
    /// Shared by every worker, so a client's rate counts across them.
    pub rate_limiter: Option<Arc<RateLimiter>>,
}

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
}

impl Application {
    /// Opens the database (applying migrations) and binds the listener.
    /// Port 0 picks a free port; [`Application::port`] tells which.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let storage_metrics = StorageMetrics::new();
        let metrics = Metrics::new(&storage_metrics);
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
                let (port, server) = serve(
                    &settings,
                    store.clone(),
                    sqlite::start_reply_relay,
                    metrics,
                    &described,
                )?;
                Ok(Self {
                    port,
                    server,
                    store: OpenStore::Sqlite(store),
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
                let (port, server) = serve(&settings, store.clone(), || {}, metrics, &described)?;
                Ok(Self {
                    port,
                    server,
                    store: OpenStore::Postgres(store),
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
        let served = self.server.await;
        let store = self.store;
        tokio::task::spawn_blocking(move || store.close())
            .await
            .map_err(std::io::Error::other)?;
        log::info!("stopped; database closed");
        served
    }
}

/// Binds the listener and starts the HTTP workers on `store`, calling
/// `on_worker` on each worker thread as it starts; returns the port and the
/// running server.
fn serve<S: UserStore>(
    settings: &Settings,
    store: S,
    on_worker: fn(),
    metrics: Arc<Metrics>,
    described: &str,
) -> Result<(u16, Server), StartupError> {
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
        app(store.clone(), &http)
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
    .listen(listener)
    .map_err(|source| StartupError::Listen {
        addr: settings.bind,
        source,
    })?
    .run();
    log::info!(
        "serving on http://{}:{port} with {described}, {} workers",
        settings.bind.ip(),
        settings.workers
    );
    Ok((port, server))
}

/// Read connections: enough for every worker to have reads in flight while
/// others wait on the blocking pool.
fn reader_pool_size(workers: NonZeroUsize) -> u32 {
    u32::try_from(workers.get().saturating_mul(2).max(4)).unwrap_or(64)
}

/// The whole application for one worker: routes, error shapes, middleware.
/// Tests and benches build the app through this same function.
pub fn app<S: UserStore>(
    store: S,
    http: &HttpSettings,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let tokens = http.api_tokens.clone();
    let metrics = Arc::clone(&http.metrics);
    let limiter = http.rate_limiter.clone();
    // Middlewares that would do nothing are left out rather than run per
    // request.
    let rate_limited = limiter.is_some();
    let log_requests = log::log_enabled!(target: routes::REQUEST_LOG_TARGET, log::Level::Info);
    App::new()
        .default_service(routes::service(store, tokens, Arc::clone(&http.metrics)))
        .wrap(Condition::new(
            !http.cors_origins.is_empty(),
            cors(&http.cors_origins),
        ))
        .wrap(Condition::new(
            rate_limited,
            from_fn(move |req, next| routes::limit_rate(limiter.clone(), req, next)),
        ))
        .wrap(from_fn(routes::compress))
        .wrap(from_fn(routes::request_id))
        .wrap(from_fn(move |req, next| {
            routes::record_metrics(Arc::clone(&metrics), log_requests, req, next)
        }))
}

/// Cross-origin access for the configured origins only, with the methods
/// and headers this API uses.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([
            header::LOCATION,
            header::LINK,
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
        ])
        .max_age(3600)
        // A request from a foreign origin is answered without CORS headers
        // (the browser then hides it) instead of being failed, so same-origin
        // requests that carry an Origin header keep working.
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}
