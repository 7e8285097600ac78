//! The listening socket and the HTTP workers behind it: actix-server
//! accepts, [`connection::open`] does TLS when configured, actix-http
//! serves HTTP/1.1, and HTTP/2 when a TLS client asks for it by ALPN.
//!
//! actix-web's `HttpServer` is not used: it compiles the HTTP dispatchers
//! once per stream type (see [`connection`]).

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_http::body::BoxBody;
use actix_http::error::DispatchError;
use actix_http::{HttpService, Request, Response};
use actix_server::{GracefulShutdownSignal, Server};
use actix_service::boxed::{self, BoxServiceFactory};
use actix_service::{
    apply, fn_service, map_config, IntoServiceFactory, ServiceFactory, ServiceFactoryExt,
};
use actix_web::dev::{AppConfig, ServiceResponse};
use tokio::net::TcpStream;

use super::connection::{self, Connection};
use super::error::StartupError;
use super::streams::{LimitStreams, StreamLimit};
use crate::config::Settings;
use crate::routes::{self, ApiTokens, HttpSettings, Metrics, RateLimiter};
use crate::storage::UserStore;
use crate::tls::{self, Handshake, Tls};

/// Time a client has to send a request's head.
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a client has to close after the server's last response.
const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Time an idle keep-alive connection is kept open.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// The app with its types erased: everything in [`http_service`] is
/// compiled once, not once for each backend the app is generic over.
type BoxedApp = BoxServiceFactory<(), Request, Response<BoxBody>, Response<BoxBody>, ()>;

/// Serves one accepted TCP connection: TLS when configured, then HTTP/1.1
/// or HTTP/2 on `app`.
fn http_service(
    app: BoxedApp,
    local: SocketAddr,
    shutdown: GracefulShutdownSignal,
    handshake: Option<Arc<Handshake>>,
) -> impl ServiceFactory<TcpStream, Config = (), Response = (), Error = DispatchError, InitError = ()>
{
    let http = HttpService::<Connection, _, _>::build()
        // A client must send its request head within this time, or gets
        // 408 and is closed: a slow-loris connection cannot sit forever.
        .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
        .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
        .keep_alive(KEEP_ALIVE)
        .local_addr(local)
        // Bounds the requests one HTTP/2 connection has in progress
        // (`streams`).
        .on_connect_ext(|connection: &Connection, data| {
            if connection.is_http2() {
                data.insert(StreamLimit::default());
            }
        })
        // Idle keep-alive connections close as soon as a shutdown starts,
        // rather than holding it up. (Hidden in actix-http's docs; actix-web's
        // `HttpServer` wires it the same way.)
        .graceful_shutdown_signal(move || {
            let shutdown = shutdown.clone();
            async move { shutdown.notified().await }
        })
        .finish(app);
    fn_service(move |stream| {
        let handshake = handshake.clone();
        async move {
            connection::open(stream, handshake.as_deref())
                .await
                .ok_or(DispatchError::Io(io::ErrorKind::ConnectionAborted.into()))
        }
    })
    .and_then(http)
}

/// Where and how to listen: the address and limits from the settings, and
/// TLS when configured.
pub(super) struct Listener<'a> {
    pub settings: &'a Settings,
    pub tls: Option<Tls>,
}

/// What [`Listener::serve`] started.
pub(super) struct Serving {
    pub port: u16,
    pub server: Server,
    /// Reloads the TLS certificate while serving.
    pub tls_watcher: Option<tls::reload::Watcher>,
}

impl Listener<'_> {
    /// Binds the listener and starts the HTTP workers on `store`, calling
    /// `on_worker` on each worker thread as it starts.
    pub fn serve<S: UserStore>(
        self,
        store: S,
        on_worker: fn(),
        metrics: Arc<Metrics>,
        described: &str,
    ) -> Result<Serving, StartupError> {
        let settings = self.settings;
        let listen_error = |source| StartupError::Listen {
            addr: settings.bind,
            source,
        };
        let listener = TcpListener::bind(settings.bind).map_err(listen_error)?;
        let local = listener.local_addr().map_err(listen_error)?;
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
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        // Listening for SIGHUP before the server says it serves.
        let tls_watcher = self
            .tls
            .as_ref()
            .map(|tls| tls::reload::Watcher::new(Arc::clone(&tls.reloadable)));
        let handshake = self.tls.map(|tls| Arc::new(tls.handshake));
        let workers = settings.workers.get();
        let builder = Server::build()
            .workers(workers)
            // Past this many open connections the server stops accepting
            // (new ones wait in the backlog) instead of running out of
            // memory or file descriptors.
            .max_concurrent_connections(settings.max_connections.get().div_ceil(workers));
        let shutdown = builder.graceful_shutdown_signal();
        let server = builder
            .listen("user-service", listener, move || {
                on_worker();
                let app = routes::app(store.clone(), &http)
                    .into_factory()
                    .map(|response: ServiceResponse<_>| {
                        Response::from(response.map_into_boxed_body())
                    })
                    .map_err(|error| Response::from(error.error_response()));
                // Nothing reads the app's host or scheme (responses carry
                // no absolute URLs), so its defaults serve.
                let app = apply(LimitStreams, map_config(app, |_| AppConfig::default()));
                let app = boxed::factory(app);
                http_service(app, local, shutdown.clone(), handshake.clone())
            })
            .map_err(listen_error)?
            .run();
        log::info!(
            "serving on {scheme}://{}:{} with {described}, {} workers",
            settings.bind.ip(),
            local.port(),
            settings.workers
        );
        Ok(Serving {
            port: local.port(),
            server,
            tls_watcher,
        })
    }
}
