//! Mapping PostgreSQL and pool failures into [`StoreError`] by SQLSTATE, and
//! the start-up errors of the PostgreSQL backend.

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

use super::tls::{SslMode, TlsOptions};
use crate::storage::StoreError;

/// Why the PostgreSQL backend could not start; one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot connect to PostgreSQL at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error(
        "PostgreSQL database {url} has schema version {found}, newer than this binary knows \
         ({known}); run a newer user-service"
    )]
    SchemaTooNew { url: String, found: i64, known: i64 },
    #[error("cannot migrate PostgreSQL database {url}: {reason}")]
    Migration { url: String, reason: String },
}

/// A failed query or command. Connection-level failures (no SQLSTATE: the
/// socket closed, the server went away) are `Unavailable`, so clients get a
/// 503 and retry while the pool reconnects.
pub(super) fn store_error(error: tokio_postgres::Error) -> StoreError {
    let Some(state) = error.code() else {
        return StoreError::Unavailable(error.to_string());
    };
    let unavailable = |what: &str| StoreError::Unavailable(format!("{what}: {error}"));
    match state {
        s if *s == SqlState::UNIQUE_VIOLATION => {
            let field = match error.as_db_error().and_then(|e| e.constraint()) {
                Some("users_pkey") => "id",
                _ => "email",
            };
            StoreError::Conflict { field }
        }
        s if *s == SqlState::DISK_FULL => StoreError::StorageFull,
        s if *s == SqlState::READ_ONLY_SQL_TRANSACTION => unavailable("the database is read-only"),
        s if s.code().starts_with("08") // connection exception
            || s.code().starts_with("57P") // operator intervention: shutdown, restart
            || s.code().starts_with("53") // insufficient resources
            || *s == SqlState::T_R_SERIALIZATION_FAILURE
            || *s == SqlState::T_R_DEADLOCK_DETECTED
            || *s == SqlState::LOCK_NOT_AVAILABLE
            || *s == SqlState::QUERY_CANCELED =>
        {
            unavailable("the database cannot serve now")
        }
        _ => StoreError::internal(error),
    }
}

/// A connection could not be taken from the pool.
pub(super) fn pool_error(error: PoolError) -> StoreError {
    match error {
        PoolError::Backend(e) => store_error(e),
        PoolError::Timeout(_) => {
            StoreError::Unavailable("timed out waiting for a database connection".into())
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// A failed connection as one line: the driver's message and its causes
/// (the driver alone says only "error performing TLS handshake"), and for a
/// certificate that did not verify, what `sslmode` asked for.
pub(super) fn connect_error(
    url: String,
    tls: &TlsOptions,
    error: &tokio_postgres::Error,
) -> OpenError {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    if refused_certificate(error) {
        let mode = tls.mode;
        reason.push_str(&format!(
            " (sslmode={}: the server's certificate must chain to {}{})",
            mode.name(),
            tls.root_cert
                .as_ref()
                .map_or("the system's trusted roots".to_owned(), |p| format!(
                    "sslrootcert {}",
                    p.display()
                )),
            if mode == SslMode::VerifyFull {
                " and name the host"
            } else {
                ""
            }
        ));
    }
    OpenError::Connect { url, reason }
}

/// Whether rustls refused the server's certificate somewhere in `error`'s
/// causes (the connector's `io::Error` carries the rustls error).
fn refused_certificate(error: &tokio_postgres::Error) -> bool {
    std::iter::successors(std::error::Error::source(error), |cause| cause.source()).any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)))
    })
}
