//! The SQLite backend: one writer thread, a pool of read-only connections
//! (and a read anchor that spares them the kernel's file locks), a
//! background WAL checkpointer, migrations and online backup.

mod anchor;
mod backup;
mod batch;
mod bulk;
mod cache;
mod checkpoint;
mod claim;
mod connection;
mod idempotency;
mod listing;
mod migrate;
mod queries;
mod reader;
mod reply;
mod restore;
mod schedule;
mod search_doc;
mod search_index;
mod snapshot;
mod writer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::IntCounter;

pub use backup::{backup, BackupError, Copied};
pub use bulk::SqliteLoader;
pub use claim::is_served;
pub use connection::{Durability, OpenError};
pub use migrate::migrate;
/// Call on each HTTP worker thread as it starts, inside its runtime: the
/// writer then hands that thread a batch's answers with one wake-up.
pub use reply::start_relay_on_this_thread as start_reply_relay;
pub use restore::{restore, RestoreError};
pub use schedule::BackupSchedule;
pub use snapshot::SqliteSnapshot;

use self::anchor::ReadAnchor;
use self::batch::WriteOp;
use self::cache::UserCache;
use self::checkpoint::{Checkpointer, WalActivity};
use self::reader::ReaderPool;
use self::reply::WriteOutcome;
use self::schedule::ScheduledBackups;
use self::writer::Writer;
use super::{Created, ListQuery, Page, Readiness, StoreError, StoreStats, UserStore};
use crate::domain::{
    IdempotencyKey, KeyOwner, NewUser, RetryableCreate, TagCondition, Timestamp, User, UserId,
    UserPatch,
};
use crate::storage::StorageMetrics;

/// How to open a SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    pub durability: Durability,
    /// Cap on the database file's size in bytes (SQLite's `max_page_count`).
    pub max_size: Option<u64>,
    /// Read connections kept open for concurrent readers.
    pub readers: u32,
    /// Users kept in memory for `GET /users/{id}` (0: none).
    pub read_cache: usize,
    /// Bytes of the file the read connections map into memory (0: none).
    pub mmap_size: u64,
    /// Opened to serve: takes the file's server lock (see `claim`).
    pub serving: bool,
    /// Backups taken while the store is open.
    pub backups: Option<BackupSchedule>,
    /// How long idempotency keys are kept.
    pub key_ttl: Duration,
    /// Where the writer and the read pool record what they do.
    pub metrics: StorageMetrics,
}

/// A [`UserStore`] on one SQLite file. Cheap to clone; all clones share the
/// same writer thread and read pool.
#[derive(Clone)]
pub struct SqliteStore {
    readers: ReaderPool,
    cache: Option<Arc<UserCache>>,
    /// `GET /users/{id}` answered from the cache, and not.
    cache_hits: IntCounter,
    cache_misses: IntCounter,
    writer: Writer,
    key_ttl: Duration,
    checkpointer: Arc<Mutex<Option<Checkpointer>>>,
    backups: Arc<Mutex<Option<ScheduledBackups>>>,
    /// Held while the store is open when it caches reads (see `claim`).
    _claim: Option<Arc<std::fs::File>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database, applies pending migrations,
    /// and starts the writer and checkpointer threads.
    pub fn open(options: &SqliteOptions) -> Result<Self, OpenError> {
        let claim = match options.serving {
            true => Some(Arc::new(claim::for_server(
                &options.path,
                options.read_cache > 0,
            )?)),
            false => None,
        };
        warn_if_wal_is_missing(&options.path);
        let mut conn = connection::open_writer(&options.path, options.durability)?;
        migrate::apply(&mut conn)?;
        if let Some(bytes) = options.max_size {
            connection::cap_size(&conn, &options.path, bytes)?;
        }
        let readers = ReaderPool::open(
            &options.path,
            options.readers,
            options.mmap_size,
            options.metrics.clone(),
        )?;
        let cache = UserCache::new(options.read_cache).map(Arc::new);
        let activity = Arc::new(WalActivity::new(ReadAnchor::open(&options.path)));
        let writer = Writer::start(
            conn,
            Arc::clone(&activity),
            options.metrics.clone(),
            cache.clone(),
            options.key_ttl,
        )?;
        let checkpointer = Checkpointer::start(&options.path, activity)?;
        let backups = options
            .backups
            .clone()
            .map(|schedule| {
                ScheduledBackups::start(&options.path, schedule, options.metrics.clone())
            })
            .transpose()
            .map_err(|e| OpenError::CannotOpen {
                path: options.path.clone(),
                reason: format!("cannot start the backup thread: {e}"),
            })?;
        Ok(Self {
            readers,
            cache,
            cache_hits: options.metrics.read_cache_hits.clone(),
            cache_misses: options.metrics.read_cache_misses.clone(),
            writer,
            key_ttl: options.key_ttl,
            checkpointer: Arc::new(Mutex::new(Some(checkpointer))),
            backups: Arc::new(Mutex::new(backups)),
            _claim: claim,
        })
    }

    /// Finishes queued writes, stops the background threads, checkpoints
    /// the WAL into the main file and closes the database. Idempotent.
    pub fn close(&self) {
        let backups = self
            .backups
            .lock()
            .map(|mut slot| slot.take())
            .unwrap_or_default();
        if let Some(backups) = backups {
            backups.stop();
        }
        let checkpointer = self
            .checkpointer
            .lock()
            .map(|mut slot| slot.take())
            .unwrap_or_default();
        if let Some(checkpointer) = checkpointer {
            checkpointer.stop();
        }
        self.writer.stop();
    }
}

/// After a crash both `-wal` and `-shm` stay behind and SQLite replays the
/// WAL on open. A `-shm` without its `-wal` means the WAL was removed by
/// hand (or copied without it): the database is consistent, but commits
/// after its last checkpoint are gone. SQLite cannot tell; say it loudly.
fn warn_if_wal_is_missing(path: &std::path::Path) {
    let sibling = |suffix| connection::sibling(path, suffix);
    if sibling("-shm").exists() && !sibling("-wal").exists() {
        log::warn!(
            "{} has a -shm file but no -wal file: if the WAL was deleted or not copied after a \
             crash, writes after the last checkpoint are lost (the database itself is \
             consistent); restore the -wal file before starting if you still have it",
            path.display()
        );
    }
}

impl UserStore for SqliteStore {
    /// From the cache, else one primary-key seek done inline on the worker
    /// (see BENCHMARKS.md: 1.5x the rate of a hop to the blocking pool).
    async fn get(&self, id: UserId) -> Result<User, StoreError> {
        let read = || {
            self.readers
                .run_inline(|conn| queries::get(conn, id)?.ok_or(StoreError::NotFound))
        };
        let Some(cache) = &self.cache else {
            return read();
        };
        if let Some(user) = cache.get(id) {
            self.cache_hits.inc();
            return Ok(user);
        }
        self.cache_misses.inc();
        let ticket = cache.ticket();
        let user = read()?;
        cache.fill(ticket, &user);
        Ok(user)
    }

    async fn list(&self, query: ListQuery) -> Result<Page, StoreError> {
        self.readers
            .run(move |conn| listing::list(conn, &query))
            .await
    }

    async fn create(&self, new: NewUser) -> Result<User, StoreError> {
        let user = User::create(new, Timestamp::now());
        self.writer.execute(WriteOp::Create(user)).await?.user()
    }

    async fn create_retryable(
        &self,
        new: NewUser,
        retry: RetryableCreate,
    ) -> Result<Created, StoreError> {
        let now = Timestamp::now();
        let op = WriteOp::CreateOnce {
            user: User::create(new, now),
            retry,
            fresh_after: now.minus(self.key_ttl),
        };
        match self.writer.execute(op).await? {
            WriteOutcome::Replayed(user) => Ok(Created::Replayed(user)),
            outcome => outcome.user().map(Created::New),
        }
    }

    async fn key_is_kept(&self, owner: KeyOwner, key: IdempotencyKey) -> Result<bool, StoreError> {
        let fresh_after = Timestamp::now().minus(self.key_ttl);
        self.readers
            .run(move |conn| idempotency::is_stored(conn, &owner, key.as_str(), fresh_after))
            .await
    }

    async fn update(
        &self,
        id: UserId,
        patch: UserPatch,
        expected: TagCondition,
    ) -> Result<User, StoreError> {
        self.writer
            .execute(WriteOp::Update {
                id,
                patch,
                expected,
            })
            .await?
            .user()
    }

    async fn delete(&self, id: UserId, expected: TagCondition) -> Result<(), StoreError> {
        self.writer
            .execute(WriteOp::Delete { id, expected })
            .await
            .map(|_| ())
    }

    async fn ready(&self) -> Result<Readiness, StoreError> {
        let started = Instant::now();
        self.readers.run(queries::probe).await?;
        self.writer.execute(WriteOp::Probe).await?;
        Ok(Readiness {
            latency: started.elapsed(),
        })
    }

    async fn stats(&self) -> StoreStats {
        let (pool_open, pool_idle) = self.readers.state();
        // Two `stat` calls: too short to be worth a thread hop.
        let size = |path: &std::path::Path| std::fs::metadata(path).map_or(0, |m| m.len());
        let path = self.readers.path();
        let wal = connection::sibling(path, "-wal");
        StoreStats {
            pool_open,
            pool_idle,
            pool_waiting: 0,
            write_queue: self.writer.queued(),
            database_bytes: size(path) + size(&wal),
        }
    }
}
