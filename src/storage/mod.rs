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

use crate::domain::{
    Email, EntityTag, IdempotencyKey, KeyOwner, NewUser, RetryableCreate, TagCondition, Timestamp,
    User, UserId, UserPatch,
};

/// What a create with an idempotency key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The user was created now.
    New(User),
    /// The key was used before with the same email and name: the user that
    /// request created, as it was created (it may have changed since).
    Replayed(User),
}

/// How long idempotency keys are kept unless configured.
pub const DEFAULT_KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// `Ok` when `expected` (an `If-Match`) matches `user` as it is now;
/// every backend checks inside the transaction that then changes it.
pub fn check_precondition(expected: &TagCondition, user: &User) -> Result<(), StoreError> {
    match expected {
        TagCondition::Any => Ok(()),
        tags if tags.matches_strongly(&EntityTag::of(user)) => Ok(()),
        _ => Err(StoreError::PreconditionFailed),
    }
}

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

    /// Like [`UserStore::create`], once per key: the key is stored with the
    /// user in one transaction. A key still kept answers the user it
    /// created again, or `KeyReused` when `new` differs from that request.
    /// Concurrent creates with one key create at most one user. Failed
    /// creates (a taken email) store no key.
    fn create_retryable(
        &self,
        new: NewUser,
        retry: RetryableCreate,
    ) -> impl Future<Output = Result<Created, StoreError>> + Send;

    /// Whether `owner` has a kept key `key` (a key may name one create only).
    fn key_is_kept(
        &self,
        owner: KeyOwner,
        key: IdempotencyKey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Applies `patch` if the user matches `expected` (`Any`: always);
    /// else `PreconditionFailed` and nothing changes. The check and the
    /// change are one atomic step. Equal values change nothing, not even
    /// `updated_at`.
    fn update(
        &self,
        id: UserId,
        patch: UserPatch,
        expected: TagCondition,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// Deletes the user if it matches `expected`, atomically.
    fn delete(
        &self,
        id: UserId,
        expected: TagCondition,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Checks that the database answers a query and accepts writes.
    fn ready(&self) -> impl Future<Output = Result<Readiness, StoreError>> + Send;

    /// Current pool, queue and size figures, for metrics. Never fails:
    /// what cannot be read now is 0.
    fn stats(&self) -> impl Future<Output = StoreStats> + Send;
}
