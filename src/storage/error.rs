//! `StoreError`: backend-neutral failures of the storage layer.

/// What can go wrong in storage, in terms the HTTP layer can map.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such user")]
    NotFound,
    /// A unique constraint on `field` was violated.
    #[error("{field} already exists")]
    Conflict { field: &'static str },
    /// `If-Match` named another state of the user; nothing was changed.
    #[error("the user does not match the precondition")]
    PreconditionFailed,
    /// An idempotency key, still kept, was used for another request.
    #[error("the idempotency key was used for another request")]
    KeyReused,
    /// The database cannot serve now (unreachable, read-only, overloaded).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A write would exceed the database's size limit or the disk is full.
    #[error("database is full")]
    StorageFull,
    #[error("internal storage error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(source.into())
    }
}
