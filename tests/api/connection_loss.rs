//! PostgreSQL only: losing the database gives 503s, never a hang or a crash,
//! and the service recovers by itself when the database is back.
//!
//! Two ways, neither of which stops the PostgreSQL that other tests share:
//! a TCP proxy the test controls between server and database ("the database
//! went away" cuts every open connection and refuses new ones), and
//! `pg_terminate_backend` on the server's own connections, as an
//! administrator or a PostgreSQL restart would end them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use user_service::storage::postgres::PostgresUrl;

use crate::helpers::postgres::{fresh_schema_named, skipped, spawn_app_on, test_config};
use crate::helpers::{assert_error, TestApp};

/// Forwards 127.0.0.1:port to PostgreSQL while up; while down, resets every
/// connection it has and closes new ones at once.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(target: (String, u16)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let pipes = Arc::new(Mutex::new(Vec::new()));
        let (up_flag, pipe_list) = (up.clone(), pipes.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up_flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                pipe_list.lock().unwrap().push(pipe.abort_handle());
            }
        });
        Self { port, up, pipes }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// A server whose database connections all go through a fresh proxy.
async fn app_behind_proxy() -> (TestApp, Proxy) {
    let config = test_config();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(host) => host.clone(),
        other => panic!("TEST_DATABASE_URL must use TCP, not {other:?}"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let proxy = Proxy::start((host, port)).await;
    let (_, schema) = fresh_schema_named().await;
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let password = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    let url = PostgresUrl::parse(&format!(
        "host=127.0.0.1 port={} user={} password={} dbname={} connect_timeout=2 options={}",
        proxy.port,
        quote(config.get_user().unwrap_or("postgres")),
        quote(&password),
        quote(config.get_dbname().unwrap_or("postgres")),
        quote(&format!("-csearch_path={schema}")),
    ))
    .unwrap();
    let app = spawn_app_on(url, |_| {}).await;
    (app, proxy)
}

/// Polls `probe` until it returns true, for at most `limit`.
async fn eventually(limit: Duration, mut probe: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if probe().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn without_the_database_requests_get_503_quickly_and_the_service_recovers() {
    if skipped() {
        return;
    }
    let (app, proxy) = app_behind_proxy().await;
    let user = app.create_user("ada@example.com", "Ada").await;
    let id = user["id"].as_str().unwrap().to_owned();

    proxy.cut();
    let started = Instant::now();
    for _ in 0..3 {
        assert_error(
            app.get_user(&id).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            None,
            "GET while down",
        )
        .await;
    }
    let response = app
        .post_user(&json!({"email": "bob@example.com", "name": "Bob"}))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        None,
        "POST while down",
    )
    .await;
    assert_eq!(
        app.get("/users").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.get("/ready").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.get("/health").await.status(),
        StatusCode::OK,
        "liveness does not need the database"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "answers while down took {:?}",
        started.elapsed()
    );

    proxy.restore();
    let recovered = eventually(Duration::from_secs(15), async || {
        app.get("/ready").await.status() == StatusCode::OK
    })
    .await;
    assert!(recovered, "/ready never recovered");
    assert_eq!(app.get_user(&id).await.status(), StatusCode::OK);
    let bob = app.create_user("bob@example.com", "Bob").await;
    assert_eq!(
        app.get_user(bob["id"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn connections_cut_mid_way_are_replaced() {
    if skipped() {
        return;
    }
    let (app, proxy) = app_behind_proxy().await;
    let user = app.create_user("ada@example.com", "Ada").await;
    let id = user["id"].as_str().unwrap().to_owned();
    // Cut and restore at once, as when PostgreSQL restarts or an admin
    // terminates the backends: the pooled connections are dead, the server
    // is reachable again.
    proxy.cut();
    proxy.restore();
    let recovered = eventually(Duration::from_secs(10), async || {
        app.get_user(&id).await.status() == StatusCode::OK
    })
    .await;
    assert!(recovered, "reads never recovered");
    // At most a request or two may see a dead connection; after that every
    // request succeeds.
    for _ in 0..20 {
        assert_eq!(app.get_user(&id).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn backends_terminated_by_an_administrator_are_replaced() {
    if skipped() {
        return;
    }
    // A name of its own, so only this server's connections are terminated.
    let (url, _) = fresh_schema_named().await;
    let name = format!("terminate_{}", uuid::Uuid::now_v7().simple());
    let url = PostgresUrl::parse(&format!("{}&application_name={name}", url.as_str())).unwrap();
    let app = spawn_app_on(url, |_| {}).await;
    let user = app.create_user("ada@example.com", "Ada").await;
    let id = user["id"].as_str().unwrap().to_owned();
    for _ in 0..8 {
        assert_eq!(app.get_user(&id).await.status(), StatusCode::OK);
    }

    let admin = crate::helpers::postgres::client_of("TEST_DATABASE_URL").await;
    let terminated: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        terminated >= 1,
        "the server had pooled connections to terminate"
    );

    // The first requests may meet a dead connection (503, never 500 or a
    // hang); then the pool has replaced them.
    for _ in 0..5 {
        let status = app.get_user(&id).await.status();
        assert!(
            status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}"
        );
    }
    let recovered = eventually(Duration::from_secs(10), async || {
        app.get_user(&id).await.status() == StatusCode::OK
    })
    .await;
    assert!(recovered);
    for _ in 0..20 {
        assert_eq!(app.get_user(&id).await.status(), StatusCode::OK);
    }
    assert_eq!(app.get("/ready").await.status(), StatusCode::OK);
    app.create_user("bob@example.com", "Bob").await;
}
