//! Read-only connections: a pool for reads that leave the async workers,
//! and one connection per worker thread for short reads done inline.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use r2d2::{CustomizeConnection, Pool};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use super::connection::{OpenError, BUSY_TIMEOUT};
use crate::storage::StorageMetrics;
use crate::storage::StoreError;

/// How long a read waits for a free connection before the service reports
/// itself overloaded.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// An inline read waits at most this long for a lock, so it can never hold
/// an async worker for long. In WAL mode readers wait only in rare cases
/// (WAL recovery after a crash); the read then fails with 503, not a stall.
const INLINE_BUSY_TIMEOUT: Duration = Duration::from_millis(100);

/// Makes every pooled connection read-only: a bug in a read path cannot
/// write, and every write stays on the writer thread.
#[derive(Debug)]
struct ReadOnly;

impl CustomizeConnection<Connection, rusqlite::Error> for ReadOnly {
    fn on_acquire(&self, conn: &mut Connection) -> Result<(), rusqlite::Error> {
        make_read_only(conn, BUSY_TIMEOUT)
    }
}

pub(super) fn make_read_only(
    conn: &Connection,
    busy_timeout: Duration,
) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(busy_timeout)?;
    conn.execute_batch("PRAGMA query_only = ON;")?;
    // Listing alone has some 30 statements: sorts, searches, first pages.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

pub(super) fn read_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// Tells apart the databases one process has open (tests open many), so a
/// thread's inline connection is never used for the wrong file.
static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's inline read connections, one per open database.
    static INLINE: RefCell<Vec<(u64, Connection)>> = const { RefCell::new(Vec::new()) };
}

#[derive(Clone)]
pub(super) struct ReaderPool {
    id: u64,
    pool: Pool<SqliteConnectionManager>,
    path: Arc<PathBuf>,
    metrics: StorageMetrics,
}

impl ReaderPool {
    pub(super) fn open(path: &Path, size: u32, metrics: StorageMetrics) -> Result<Self, OpenError> {
        let manager = SqliteConnectionManager::file(path).with_flags(read_flags());
        let pool = Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // A local file does not go stale; testing it costs a call into
            // SQLite on every checkout.
            .test_on_check_out(false)
            .connection_customizer(Box::new(ReadOnly))
            .build(manager)
            .map_err(|e| OpenError::CannotOpen {
                path: path.to_path_buf(),
                reason: format!("read connections: {e}"),
            })?;
        Ok(Self {
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            pool,
            path: Arc::new(path.to_path_buf()),
            metrics,
        })
    }

    /// The database file these connections read.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Connections open, and of those idle.
    pub(super) fn state(&self) -> (u64, u64) {
        let state = self.pool.state();
        (
            u64::from(state.connections),
            u64::from(state.idle_connections),
        )
    }

    /// Runs `read` on a pooled connection on the blocking thread pool, so
    /// neither the checkout nor the query can stall an async worker.
    pub(super) async fn run<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let wait = self.metrics.pool_wait_seconds.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let conn = pool.get();
            wait.observe(started.elapsed().as_secs_f64());
            let conn =
                conn.map_err(|e| StoreError::Unavailable(format!("no read connection: {e}")))?;
            read(&conn)
        })
        .await
        .map_err(|e| StoreError::internal(format!("read task failed: {e}")))?
    }

    /// Runs a short `read` right here, on this thread's own read-only
    /// connection (opened on first use), without a thread hop. Only for reads
    /// bounded to a few index seeks: the caller's async worker waits for it.
    pub(super) fn run_inline<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        INLINE.with(|cell| {
            let mut connections = cell.borrow_mut();
            let index = match connections.iter().position(|(id, _)| *id == self.id) {
                Some(index) => index,
                None => {
                    connections.push((self.id, self.open_inline()?));
                    connections.len() - 1
                }
            };
            read(&connections[index].1)
        })
    }

    fn open_inline(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(self.path.as_path(), read_flags())
            .map_err(|e| StoreError::Unavailable(format!("cannot open a read connection: {e}")))?;
        make_read_only(&conn, INLINE_BUSY_TIMEOUT).map_err(|e| {
            StoreError::Unavailable(format!("cannot set up a read connection: {e}"))
        })?;
        Ok(conn)
    }
}
