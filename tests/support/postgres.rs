//! Shared by the test binaries that run on PostgreSQL: whether to skip, and
//! a fresh schema per test so tests running in parallel never meet.

use std::sync::Once;

use user_service::storage::postgres::{self, PostgresUrl};

/// Whether the PostgreSQL variants must be skipped (no `TEST_DATABASE_URL`):
/// says so once per test binary, naming `what` was skipped; under `CI=true`
/// fails instead.
pub fn skipped(what: &str) -> bool {
    static SAID: Once = Once::new();
    super::skip::skip_unless_ci(
        &SAID,
        what,
        std::env::var_os("TEST_DATABASE_URL").is_none(),
        "TEST_DATABASE_URL is unset",
        "run .ci/run, or set TEST_DATABASE_URL=postgres://user:password@127.0.0.1/db",
    )
}

/// Creates an empty schema in the test database; returns the test URL with
/// that schema first on the `search_path`, and the schema's name.
pub async fn fresh_schema_named() -> (PostgresUrl, String) {
    fresh_schema_in(&std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL")).await
}

/// Creates an empty schema in the database `base` names, connecting the way
/// the service does (TLS as its `sslmode` says); returns `base` with that
/// schema first on the `search_path`, and the schema's name.
pub async fn fresh_schema_in(base: &str) -> (PostgresUrl, String) {
    let schema = format!("test_{}", uuid::Uuid::now_v7().simple());
    let (client, driver) = postgres::connect(&PostgresUrl::parse(base).expect("a PostgreSQL URL"))
        .await
        .unwrap_or_else(|e| panic!("connect to the test database: {e}"));
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create a test schema");
    drop(client);
    let _ = driver.await;
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = PostgresUrl::parse(&format!(
        "{base}{separator}options=-csearch_path%3D{schema}"
    ))
    .expect("a PostgreSQL URL");
    (url, schema)
}
