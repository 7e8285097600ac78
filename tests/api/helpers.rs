//! `spawn_app()` and one helper per endpoint.
//!
//! `sqlite::spawn_app` and `postgres::spawn_app` start a server on a fresh
//! database of that backend; the top-level `spawn_app` is SQLite's, for the
//! tests that are about SQLite itself.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use user_service::config::DatabaseUrl;
use user_service::config::Settings;
use user_service::startup::Application;

pub use sqlite::{spawn_app, spawn_app_with};

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The database file when the backend is SQLite.
    db_path: Option<PathBuf>,
    _dir: Option<TempDir>,
}

pub mod sqlite {
    use super::*;

    /// A server with default settings on a fresh database file.
    pub async fn spawn_app() -> TestApp {
        spawn_app_with(|_| {}).await
    }

    /// A server whose settings `configure` may change first.
    pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("users.db");
        let app = start(DatabaseUrl::Sqlite(db_path.clone()), configure).await;
        TestApp {
            db_path: Some(db_path),
            _dir: Some(dir),
            ..app
        }
    }
}

pub mod postgres {
    use user_service::storage::postgres::PostgresUrl;

    use super::*;

    pub use crate::pg_support::fresh_schema_named;

    /// Whether the PostgreSQL variants must be skipped; says so once.
    pub fn skipped() -> bool {
        crate::pg_support::skipped("the PostgreSQL API tests (…::postgres::*, scale_out, connection_loss, postgres_schema)")
    }

    /// A server with default settings on a fresh schema of the test database.
    pub async fn spawn_app() -> TestApp {
        spawn_app_with(|_| {}).await
    }

    /// A server whose settings `configure` may change first, on a schema of
    /// its own so tests running in parallel never see each other's users.
    pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
        spawn_app_on(fresh_schema().await, configure).await
    }

    /// A server on the database `url` names; several may share one.
    pub async fn spawn_app_on(url: PostgresUrl, configure: impl FnOnce(&mut Settings)) -> TestApp {
        start(DatabaseUrl::Postgres(url), configure).await
    }

    /// `TEST_DATABASE_URL`'s settings.
    pub fn test_config() -> tokio_postgres::Config {
        std::env::var("TEST_DATABASE_URL")
            .expect("TEST_DATABASE_URL")
            .parse()
            .expect("TEST_DATABASE_URL is a PostgreSQL URL")
    }

    /// A fresh, empty schema of the test database.
    pub async fn fresh_schema() -> PostgresUrl {
        fresh_schema_named().await.0
    }

    /// A plain client of the database that the environment variable `var`
    /// names: another tool beside the service, or an administrator.
    pub async fn client_of(var: &str) -> tokio_postgres::Client {
        let url = std::env::var(var).unwrap_or_else(|_| panic!("{var} is unset"));
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect to {var}: {e}"));
        tokio::spawn(connection);
        client
    }
}

/// Builds and starts a server on `database` with test settings.
async fn start(database: DatabaseUrl, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings {
        bind: "127.0.0.1:0".parse().expect("loopback address"),
        workers: NonZeroUsize::new(2).expect("2 > 0"),
        db_pool_size: NonZeroUsize::new(8).expect("8 > 0"),
        ..Settings::new(database)
    };

    configure(&mut settings);
    let app = Application::build(settings).await.expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client"),
        db_path: None,
        _dir: None,
    }
}

impl TestApp {
    /// The SQLite file behind this server; panics for other backends.
    pub fn sqlite_path(&self) -> &Path {
        self.db_path.as_deref().expect("a SQLite-backed test app")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_user(&self, body: &Value) -> Response {
        self.client
            .post(self.url("/users"))
            .json(body)
            .send()
            .await
            .expect("POST /users")
    }

    /// Creates a user and returns its JSON; panics unless the answer is 201.
    pub async fn create_user(&self, email: &str, name: &str) -> Value {
        let response = self.post_user(&json!({"email": email, "name": name})).await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating {email}");
        response.json().await.expect("user JSON")
    }

    pub async fn get_user(&self, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/users/{id}")))
            .send()
            .await
            .expect("GET /users/{id}")
    }

    pub async fn patch_user(&self, id: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(&format!("/users/{id}")))
            .json(body)
            .send()
            .await
            .expect("PATCH /users/{id}")
    }

    pub async fn delete_user(&self, id: &str) -> Response {
        self.client
            .delete(self.url(&format!("/users/{id}")))
            .send()
            .await
            .expect("DELETE /users/{id}")
    }

    /// `GET` of a path with a query string, e.g. `/users?limit=2`.
    pub async fn get(&self, path_and_query: &str) -> Response {
        self.client
            .get(self.url(path_and_query))
            .send()
            .await
            .expect("GET")
    }

    /// `GET` with one extra request header.
    pub async fn get_with(&self, path_and_query: &str, header: (&str, &str)) -> Response {
        self.client
            .get(self.url(path_and_query))
            .header(header.0, header.1)
            .send()
            .await
            .expect("GET")
    }

    /// Creates `count` users with distinct emails.
    pub async fn seed(&self, count: usize) {
        for i in 0..count {
            self.create_user(&format!("user{i}@example.com"), "A user with a name")
                .await;
        }
    }

    /// Follows `Link: rel="next"` from `first` to the end; returns every
    /// page's users in order and the number of pages.
    pub async fn walk(&self, first: &str) -> (Vec<Value>, usize) {
        let mut users = Vec::new();
        let mut pages = 0;
        let mut next = Some(first.to_owned());
        while let Some(path) = next {
            let response = self.get(&path).await;
            assert_eq!(response.status(), StatusCode::OK, "page {path}");
            next = next_link(&response);
            let page: Vec<Value> = response.json().await.expect("page JSON");
            users.extend(page);
            pages += 1;
            assert!(pages < 10_000, "the walk does not end");
        }
        (users, pages)
    }
}

/// How many of `statuses` are 201 and how many 409: the outcome of a race
/// of creates of one email.
pub fn created_and_conflicts(statuses: &[StatusCode]) -> (usize, usize) {
    let count = |wanted| statuses.iter().filter(|s| **s == wanted).count();
    (count(StatusCode::CREATED), count(StatusCode::CONFLICT))
}

/// The target of a `Link: <...>; rel="next"` header, if any.
pub fn next_link(response: &Response) -> Option<String> {
    let link = response.headers().get("link")?.to_str().ok()?;
    let (target, params) = link.split_once(';')?;
    assert!(params.contains("rel=\"next\""), "link {link}");
    Some(
        target
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned(),
    )
}

/// Asserts an API error: status, `code`, and (if given) the exact message.
pub async fn assert_error(
    response: Response,
    status: StatusCode,
    code: &str,
    message: Option<&str>,
    case: &str,
) -> Value {
    assert_eq!(response.status(), status, "status for {case}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "content type for {case}: {content_type}"
    );
    let body: Value = response.json().await.expect("error JSON");
    assert_eq!(body["code"], code, "code for {case}: {body}");
    assert!(
        body["error"].as_str().is_some_and(|m| !m.is_empty()),
        "message for {case}"
    );
    if let Some(message) = message {
        assert_eq!(body["error"], message, "message for {case}");
    }
    body
}
