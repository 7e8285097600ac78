//! The storage interface the handlers talk to, independent of any backend.
//!
//! A backend implements [`UserStore`]; handlers are generic over it, so a new
//! backend never touches them. Backends map their own error codes into
//! [`StoreError`] by name.

mod cursor;
mod error;
mod listing;
mod metrics;
pub mod postgres;
pub mod sqlite;

use std::future::Future;
use std::time::Duration;

pub use cursor::{Cursor, InvalidCursor};
pub use error::StoreError;
pub use listing::{ListQuery, Page, PageWalk, Position, Sort, SortKey, UnknownSort};
pub use metrics::{StorageMetrics, LATENCY_BUCKETS};

use crate::domain::{Email, NewUser, Timestamp, User, UserId, UserPatch};

/// Gauges of the storage layer, read when metrics are scraped. Figures a
/// backend does not have are 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Connections the read (SQLite) or main (PostgreSQL) pool holds open.
    pub pool_open: u64,
    /// Of those, how many are idle.
    pub pool_idle: u64,
    /// Requests waiting for a pooled connection (PostgreSQL).
    pub pool_waiting: u64,
    /// Writes queued for the writer thread (SQLite).
    pub write_queue: u64,
    /// Bytes the data takes: SQLite file and WAL, or PostgreSQL's users table.
    pub database_bytes: u64,
}

/// What a readiness probe learned about the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub latency: Duration,
}

/// Loads many users for the `import` command, inside one transaction
/// unless [`BulkLoad::commits_each_batch`]. Dropping a loader without
/// [`BulkLoad::commit`] rolls back what is not committed.
pub trait BulkLoad {
    /// Whether each batch is committed as it is written (a live import
    /// into a served SQLite file), rather than everything at the end.
    fn commits_each_batch(&self) -> bool {
        false
    }

    /// Inserts each user whose id and email are free; returns, per user,
    /// whether it was inserted (`false`: its id or email already exists,
    /// in the database or earlier in this load).
    fn insert(&mut self, users: &[User]) -> impl Future<Output = Result<Vec<bool>, StoreError>>;

    /// The stored user (this load's own writes included) with this id.
    fn find_by_id(&mut self, id: UserId) -> impl Future<Output = Result<Option<User>, StoreError>>;

    /// The stored user (this load's own writes included) with this email.
    fn find_by_email(
        &mut self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<User>, StoreError>>;

    /// Writes `user`'s email, name and `updated_at` over the stored user
    /// with its id; `false` (nothing written) when the email belongs to
    /// another user.
    fn update(&mut self, user: &User) -> impl Future<Output = Result<bool, StoreError>>;

    /// Makes every inserted user durable at once.
    fn commit(self) -> impl Future<Output = Result<(), StoreError>>;
}

/// Every user as of one moment, newest first, read page by page inside one
/// read transaction (for `export`); writers are not blocked meanwhile.
pub trait Snapshot {
    /// When the snapshot was taken (the database's clock on PostgreSQL).
    fn taken_at(&self) -> Timestamp;

    /// The next up to `limit` users; empty once every user was read.
    fn next_page(&mut self, limit: u32) -> impl Future<Output = Result<Vec<User>, StoreError>>;

    /// Ends the read transaction.
    fn finish(self) -> impl Future<Output = Result<(), StoreError>>;
}

/// Everything the HTTP layer needs from a database. Every write that returns
/// `Ok` is durable according to the backend's durability setting.
pub trait UserStore: Clone + Send + Sync + 'static {
    fn get(&self, id: UserId) -> impl Future<Output = Result<User, StoreError>> + Send;

    fn list(&self, query: ListQuery) -> impl Future<Output = Result<Page, StoreError>> + Send;

    /// Stores a new user; `Conflict` when the email is taken.
    fn create(&self, new: NewUser) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// Applies `patch`; equal values change nothing, not even `updated_at`.
    fn update(
        &self,
        id: UserId,
        patch: UserPatch,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;

    fn delete(&self, id: UserId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Checks that the database answers a query and accepts writes.
    fn ready(&self) -> impl Future<Output = Result<Readiness, StoreError>> + Send;

    /// Current pool, queue and size figures, for metrics. Never fails:
    /// what cannot be read now is 0.
    fn stats(&self) -> impl Future<Output = StoreStats> + Send;
}
