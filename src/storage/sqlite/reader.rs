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
/// write, and every write stays on the writer thread. Reads go through a
/// memory map of up to `mmap_size` bytes of the file.
#[derive(Debug)]
struct ReadOnly {
    mmap_size: u64,
}

impl CustomizeConnection<Connection, rusqlite::Error> for ReadOnly {
    fn on_acquire(&self, conn: &mut Connection) -> Result<(), rusqlite::Error> {
        make_read_only(conn, BUSY_TIMEOUT)?;
        map_memory(conn, self.mmap_size)
    }
}

/// Lets SQLite read the first `bytes` of the file through a memory map
/// instead of `pread` into its own page cache. At 1M users a search reads
/// pages all over a 500 MB file: copying each into the connection's 2 MB
/// cache took half of the request's CPU, and mapped, the same search costs
/// half as much (BENCHMARKS.md, "Search at 1M users: memory-mapped
/// reads"). The mapped pages are the kernel's page cache, which `pread`
/// fills all the same; they count in the process's RSS (as `RssFile`).
fn map_memory(conn: &Connection, bytes: u64) -> Result<(), rusqlite::Error> {
    // SQLite answers with the size it took (capped at its 2 GB maximum).
    let bytes = bytes.min(i64::MAX as u64);
    let _: i64 = conn.query_row(&format!("PRAGMA mmap_size = {bytes}"), [], |row| row.get(0))?;
    Ok(())
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
    mmap_size: u64,
    metrics: StorageMetrics,
}

impl ReaderPool {
    pub(super) fn open(
        path: &Path,
        size: u32,
        mmap_size: u64,
        metrics: StorageMetrics,
    ) -> Result<Self, OpenError> {
        let manager = SqliteConnectionManager::file(path).with_flags(read_flags());
        let pool = Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // A local file does not go stale; testing it costs a call into
            // SQLite on every checkout.
            .test_on_check_out(false)
            .connection_customizer(Box::new(ReadOnly { mmap_size }))
            .build(manager)
            .map_err(|e| OpenError::CannotOpen {
                path: path.to_path_buf(),
                reason: format!("read connections: {e}"),
            })?;
        Ok(Self {
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            pool,
            path: Arc::new(path.to_path_buf()),
            mmap_size,
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
        make_read_only(&conn, INLINE_BUSY_TIMEOUT)
            .and_then(|()| map_memory(&conn, self.mmap_size))
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot set up a read connection: {e}"))
            })?;
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA mmap_size", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn pooled_and_inline_readers_map_what_they_were_told() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x);")
            .unwrap();
        for bytes in [0, 64 << 20] {
            let pool = ReaderPool::open(&path, 2, bytes, StorageMetrics::default()).unwrap();
            let pooled = pool.pool.get().unwrap();
            assert_eq!(mapped(&pooled), bytes as i64);
            let inline = pool.open_inline().unwrap();
            assert_eq!(mapped(&inline), bytes as i64);
        }
    }
}
