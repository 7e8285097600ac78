//! Why the service could not start.

use std::net::SocketAddr;

use crate::storage::{postgres, sqlite};
use crate::tls::TlsError;

/// Why the service could not start; each is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Sqlite(#[from] sqlite::OpenError),
    #[error(transparent)]
    Postgres(#[from] postgres::OpenError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}
