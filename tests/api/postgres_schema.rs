//! PostgreSQL only: the schema itself keeps the promises, whoever writes.

use std::sync::Once;

use serde_json::Value;
use user_service::storage::postgres::PostgresUrl;

use crate::helpers::postgres::{client_of, fresh_schema_named, skipped, spawn_app_on};
use crate::helpers::TestApp;

/// The indexes of `schema`'s `users` table, by name.
async fn indexes(client: &tokio_postgres::Client, schema: &str) -> Vec<String> {
    client
        .query(
            "SELECT indexname::text FROM pg_indexes \
             WHERE schemaname = $1 AND tablename = 'users' ORDER BY 1",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Creates three users and checks that substring search finds the right
/// ones, whichever index answers it.
async fn search_finds_substrings(app: &TestApp) {
    app.create_user("karl.mueller@example.org", "Karl Müller")
        .await;
    app.create_user("anna@example.org", "anna MÜLLER").await;
    app.create_user("grace@navy.example", "Grace Hopper").await;
    for (q, expected) in [("%C3%BCll", 2), ("navy.ex", 1), ("r%40navy", 0), ("xyz", 0)] {
        let users: Vec<Value> = app
            .get(&format!("/users?q={q}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(users.len(), expected, "q={q}");
    }
}

#[tokio::test]
async fn substring_search_uses_pg_trgm_where_the_role_may_create_it() {
    if skipped() {
        return;
    }
    let (url, schema) = fresh_schema_named().await;
    let app = spawn_app_on(url, |_| {}).await;
    search_finds_substrings(&app).await;

    let client = client_of("TEST_DATABASE_URL").await;
    let found = indexes(&client, &schema).await;
    assert!(
        found.contains(&"users_search_trgm_idx".to_owned()),
        "{found:?}"
    );
    assert!(
        !found.contains(&"users_search_trigram_idx".to_owned()),
        "{found:?}"
    );
}

/// A database where the test role may create tables but no extension, as a
/// managed service may be: `.ci/run` makes one.
fn plain_database_skipped() -> bool {
    static SAID: Once = Once::new();
    crate::skip::skip_unless_ci(
        &SAID,
        "substring_search_keeps_working_where_pg_trgm_cannot_be_created",
        std::env::var_os("TEST_DATABASE_PLAIN_URL").is_none(),
        "TEST_DATABASE_PLAIN_URL is unset",
        "run .ci/run, or set TEST_DATABASE_PLAIN_URL to a database whose public schema \
         the role may create tables in, but where it may not create extensions",
    )
}

#[tokio::test]
async fn substring_search_keeps_working_where_pg_trgm_cannot_be_created() {
    if skipped() || plain_database_skipped() {
        return;
    }
    let base = std::env::var("TEST_DATABASE_PLAIN_URL").unwrap();
    let client = client_of("TEST_DATABASE_PLAIN_URL").await;
    // The only test on this database: it starts from an empty schema.
    client
        .batch_execute(
            "DROP TABLE IF EXISTS users, idempotency_keys, refinery_schema_history CASCADE; \
             DROP FUNCTION IF EXISTS users_trigrams(text);",
        )
        .await
        .unwrap();
    let extensions = client
        .query_one(
            "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        extensions.get::<_, i64>(0),
        0,
        "TEST_DATABASE_PLAIN_URL must be a database without pg_trgm"
    );

    let app = spawn_app_on(PostgresUrl::parse(&base).unwrap(), |_| {}).await;
    search_finds_substrings(&app).await;
    let found = indexes(&client, "public").await;
    assert!(
        found.contains(&"users_search_trigram_idx".to_owned()),
        "{found:?}"
    );
    assert!(
        !found.contains(&"users_search_trgm_idx".to_owned()),
        "{found:?}"
    );
}

#[tokio::test]
async fn the_database_refuses_an_email_that_differs_only_in_case() {
    if skipped() {
        return;
    }
    let (url, schema) = fresh_schema_named().await;
    let app = spawn_app_on(url, |_| {}).await;
    app.create_user("ada@example.com", "Ada").await;

    // Another tool writing straight into the table, bypassing the service.
    let client = client_of("TEST_DATABASE_URL").await;
    let error = client
        .execute(
            &format!(
                "INSERT INTO {schema}.users (id, email, name, created_at, updated_at) \
                 VALUES (gen_random_uuid(), 'ADA@Example.COM', 'Impostor', now(), now())"
            ),
            &[],
        )
        .await
        .expect_err("a case-variant of a stored email must be refused");
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
    );

    let plan: String = client
        .query(
            &format!(
                "EXPLAIN SELECT * FROM {schema}.users \
                 ORDER BY created_at DESC, id DESC LIMIT 101"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        plan.contains("users_created_at_id_idx"),
        "the first page is an index scan, independent of table size:\n{plan}"
    );
}
