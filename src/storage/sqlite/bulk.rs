//! `SqliteLoader`: the `import` command's path into SQLite — one write
//! connection, one cached INSERT per row, and one of two ways to commit:
//!
//! - **Alone** (no server holds the file): one transaction for the whole
//!   import, holding the file's lock exclusively, so a failed import leaves
//!   nothing and no server starts meanwhile.
//! - **Live** (a server serves the file): each batch is its own short
//!   transaction, followed by a pause in which the server's writer takes
//!   its turn, so the server keeps answering writes while the import runs.
//!   The caller checks the whole input first when nothing may be written
//!   unless everything can be.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::claim::{self, Served};
use super::connection::{self, store_error, Durability, OpenError};
use super::search_index;
use super::{migrate, queries};
use crate::domain::{Email, User, UserId};
use crate::storage::{BulkLoad, StoreError};

/// After each live batch's commit the import waits this long, so a server
/// writer that waits for the file (it looks every millisecond) gets it.
const LIVE_PAUSE: Duration = Duration::from_millis(3);

pub struct SqliteLoader {
    conn: Connection,
    live: bool,
    /// Dropped after `conn`: closing the lock file never touches SQLite's
    /// own locks, but the file is held for as long as the connection is.
    _claim: Option<File>,
}

impl SqliteLoader {
    /// Opens (creating if needed) and migrates the database, alone or live
    /// as the file's lock says. Updating existing users beside a server
    /// with the read cache is refused: that server could go on answering
    /// with the old names.
    pub fn begin(path: &Path, update_existing: bool) -> Result<Self, OpenError> {
        let (claim, served) = claim::for_import(path)?;
        if update_existing && served == Served::WithCache {
            return Err(OpenError::CannotOpen {
                path: path.to_path_buf(),
                reason: "a server with the read cache serves it, and would go on answering \
                         with users as they were; stop it for --update-existing, or run it \
                         with --read-cache 0"
                    .into(),
            });
        }
        let mut conn = connection::open_writer(path, Durability::Full)?;
        migrate::apply(&mut conn)?;
        let live = served != Served::No;
        if !live {
            conn.execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| OpenError::from_sqlite(path, e))?;
        }
        Ok(Self {
            conn,
            live,
            _claim: claim,
        })
    }

    fn insert_rows(&self, users: &[User]) -> Result<Vec<bool>, StoreError> {
        let inserted = users
            .iter()
            .map(|user| queries::insert_unless_taken(&self.conn, user))
            .collect::<Result<Vec<bool>, StoreError>>()?;
        // Into the search index within the same transaction: an import's
        // batches are large enough for FTS5's bulk cost.
        search_index::index_pending_within(&self.conn, usize::MAX)?;
        Ok(inserted)
    }
}

impl BulkLoad for SqliteLoader {
    fn commits_each_batch(&self) -> bool {
        self.live
    }

    async fn insert(&mut self, users: &[User]) -> Result<Vec<bool>, StoreError> {
        if !self.live {
            return self.insert_rows(users);
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(store_error)?;
        let inserted = match self.insert_rows(users) {
            Ok(inserted) => inserted,
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        };
        self.conn.execute_batch("COMMIT").map_err(store_error)?;
        tokio::time::sleep(LIVE_PAUSE).await;
        Ok(inserted)
    }

    async fn find_by_id(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        queries::get(&self.conn, id)
    }

    async fn find_by_email(&mut self, email: &Email) -> Result<Option<User>, StoreError> {
        queries::by_email(&self.conn, email)
    }

    async fn update(&mut self, user: &User) -> Result<bool, StoreError> {
        // A failed statement undoes only itself; the import's transaction
        // goes on. (Live, each update commits on its own.)
        let result = queries::update(&self.conn, user);
        if self.live && result.is_ok() {
            // Committed: into the index at once, as a server would.
            search_index::index_pending(&self.conn, usize::MAX)?;
        }
        match result {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn commit(self) -> Result<(), StoreError> {
        if self.live {
            // Every batch is committed; the server's checkpointer folds the
            // WAL in.
            return Ok(());
        }
        // Updated users wait for the index like inserted ones did.
        search_index::index_pending_within(&self.conn, usize::MAX)?;
        self.conn.execute_batch("COMMIT").map_err(store_error)?;
        // Fold the import's WAL into the file now rather than leave it to
        // the next server start.
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(store_error)
    }
}
