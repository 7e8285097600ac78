//! PostgreSQL only: the schema itself keeps the promises, whoever writes.

use tokio_postgres::NoTls;

use crate::helpers::postgres::{fresh_schema_named, skipped, spawn_app_on};

#[tokio::test]
async fn the_database_refuses_an_email_that_differs_only_in_case() {
    if skipped() {
        return;
    }
    let (url, schema) = fresh_schema_named().await;
    let app = spawn_app_on(url, |_| {}).await;
    app.create_user("ada@example.com", "Ada").await;

    // Another tool writing straight into the table, bypassing the service.
    let base = std::env::var("TEST_DATABASE_URL").unwrap();
    let (client, connection) = tokio_postgres::connect(&base, NoTls).await.unwrap();
    tokio::spawn(connection);
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
