//! The pool of read-only connections and the way reads leave the async
//! workers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use r2d2::{CustomizeConnection, Pool};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use super::connection::{OpenError, BUSY_TIMEOUT};
use crate::storage::StoreError;

/// How long a read waits for a free connection before the service reports
/// itself overloaded.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// Makes every pooled connection read-only: a bug in a read path cannot
/// write, and every write stays on the writer thread.
#[derive(Debug)]
struct ReadOnly;

impl CustomizeConnection<Connection, rusqlite::Error> for ReadOnly {
    fn on_acquire(&self, conn: &mut Connection) -> Result<(), rusqlite::Error> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.execute_batch("PRAGMA query_only = ON;")?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(())
    }
}

#[derive(Clone)]
pub(super) struct ReaderPool {
    pool: Pool<SqliteConnectionManager>,
    path: Arc<PathBuf>,
}

impl ReaderPool {
    pub(super) fn open(path: &Path, size: u32) -> Result<Self, OpenError> {
        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX);
        let pool = Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .connection_customizer(Box::new(ReadOnly))
            .build(manager)
            .map_err(|e| OpenError::CannotOpen {
                path: path.to_path_buf(),
                reason: format!("read connections: {e}"),
            })?;
        Ok(Self {
            pool,
            path: Arc::new(path.to_path_buf()),
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `read` on a pooled connection on the blocking thread pool, so
    /// neither the checkout nor the query can stall an async worker.
    pub(super) async fn run<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool
                .get()
                .map_err(|e| StoreError::Unavailable(format!("no read connection: {e}")))?;
            read(&conn)
        })
        .await
        .map_err(|e| StoreError::internal(format!("read task failed: {e}")))?
    }
}
