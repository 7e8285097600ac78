//! TLS to PostgreSQL against a server that requires it: `.ci/run` gives its
//! PostgreSQL 15 a CA-signed certificate for `localhost` and a user that may
//! connect only over TLS, and sets `TEST_DATABASE_TLS_URL` to
//! `postgres://…@localhost:PORT/…?sslmode=verify-full&sslrootcert=CA.pem`.
//! Without it these tests say once that they were skipped (a failure under
//! `CI=true`).

use std::sync::Once;

use user_service::domain::{Email, NewUser, TagCondition, UserName, UserPatch};
use user_service::storage::postgres::{PgOptions, PgStore, PostgresUrl};
use user_service::storage::{ListQuery, StorageMetrics, UserStore};

/// The TLS test URL, or `None` after saying why the tests are skipped.
pub fn tls_url() -> Option<String> {
    static SAID: Once = Once::new();
    let url = std::env::var("TEST_DATABASE_TLS_URL").ok();
    if crate::skip::skip_unless_ci(
        &SAID,
        "the PostgreSQL TLS tests (postgres_tls::*)",
        url.is_none(),
        "TEST_DATABASE_TLS_URL is unset",
        "run .ci/run, which sets up a PostgreSQL that requires TLS",
    ) {
        return None;
    }
    let url = url?;
    assert!(
        url.contains("@localhost:") && url.contains("sslmode=verify-full"),
        "TEST_DATABASE_TLS_URL must name localhost and sslmode=verify-full: {url}"
    );
    Some(url)
}

async fn connect(url: &str) -> Result<PgStore, String> {
    let url = PostgresUrl::parse(url)?;
    PgStore::connect(&PgOptions {
        url,
        pool_size: 2,
        metrics: StorageMetrics::new(),
        key_ttl: user_service::storage::DEFAULT_KEY_TTL,
    })
    .await
    .map_err(|e| e.to_string())
}

#[tokio::test]
async fn verify_full_connects_and_the_store_works_over_it() {
    let Some(url) = tls_url() else { return };
    let store = connect(&url).await.expect("verify-full connects");
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let created = store
        .create(NewUser {
            email: Email::parse(&format!("tls-{unique}@example.com")).unwrap(),
            name: UserName::parse("Over TLS").unwrap(),
        })
        .await
        .unwrap();
    assert_eq!(store.get(created.id).await.unwrap(), created);
    let renamed = store
        .update(
            created.id,
            UserPatch {
                email: None,
                name: Some(UserName::parse("Still TLS").unwrap()),
            },
            TagCondition::Any,
        )
        .await
        .unwrap();
    assert_eq!(renamed.name.as_str(), "Still TLS");
    let page = store
        .list(ListQuery {
            email: Some(created.email.clone()),
            ..ListQuery::first(10)
        })
        .await
        .unwrap();
    assert_eq!(page.users, vec![renamed]);
    store.delete(created.id, TagCondition::Any).await.unwrap();
    store.close();
}

/// With the server's certificate hashed into SCRAM (`SCRAM-SHA-256-PLUS`),
/// `channel_binding=require` connects; without a hash it could not.
#[tokio::test]
async fn scram_binds_to_the_tls_channel() {
    let Some(url) = tls_url() else { return };
    let store = connect(&format!("{url}&channel_binding=require"))
        .await
        .expect("channel binding is offered and accepted");
    store.close();
}

#[tokio::test]
async fn the_server_refuses_sslmode_disable() {
    let Some(url) = tls_url() else { return };
    let error = connect(&url.replace("sslmode=verify-full", "sslmode=disable"))
        .await
        .err()
        .expect("a plain connection is refused");
    assert!(error.contains("no encryption"), "{error}");
}

#[tokio::test]
async fn a_wrong_sslrootcert_is_refused_by_the_client() {
    let Some(url) = tls_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let other_ca = dir.path().join("other-ca.pem");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&other_ca, params.self_signed(&key).unwrap().pem()).unwrap();
    let (base, _) = url.split_once("sslrootcert=").unwrap();
    let wrong = format!("{base}sslrootcert={}", other_ca.display());
    let error = connect(&wrong).await.err().expect("refused");
    assert!(
        error.contains("invalid peer certificate") && error.contains("other-ca.pem"),
        "{error}"
    );
}

#[tokio::test]
async fn verify_ca_accepts_another_host_name_and_verify_full_does_not() {
    let Some(url) = tls_url() else { return };
    // The certificate names localhost, not 127.0.0.1.
    let by_address = url.replace("@localhost:", "@127.0.0.1:");
    let error = connect(&by_address)
        .await
        .err()
        .expect("verify-full refuses");
    assert!(error.contains("not valid for name"), "{error}");
    let store = connect(&by_address.replace("sslmode=verify-full", "sslmode=verify-ca"))
        .await
        .expect("verify-ca checks the chain only");
    store.close();
    // `require` with a root file verifies the chain too (libpq's rule).
    let store = connect(&by_address.replace("sslmode=verify-full", "sslmode=require"))
        .await
        .expect("require with sslrootcert");
    store.close();
}
