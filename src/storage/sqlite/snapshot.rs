//! `SqliteSnapshot`: the `export` command's read of a SQLite file as of
//! one moment. One deferred read transaction, started by its first read:
//! in WAL mode it sees the database as it was then, whatever a server on
//! the same file writes meanwhile, and the server's writes never wait for
//! it (they go to the WAL; only a checkpoint cannot pass the snapshot until
//! it ends).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::connection::{self, store_error, OpenError};
use super::listing;
use crate::domain::{Timestamp, User};
use crate::storage::{PageWalk, Snapshot, StoreError};

pub struct SqliteSnapshot {
    conn: Connection,
    taken_at: Timestamp,
    walk: PageWalk,
}

impl SqliteSnapshot {
    /// Opens the existing file `path` and takes the snapshot.
    pub fn begin(path: &Path) -> Result<Self, OpenError> {
        let failed = |e| OpenError::from_sqlite(path, e);
        let conn = connection::open_maintenance(path).map_err(failed)?;
        conn.execute_batch("PRAGMA query_only = ON; BEGIN DEFERRED")
            .map_err(failed)?;
        // The first read fixes the snapshot; one row is enough (and a file
        // without a users table fails here, before anything is written).
        conn.query_row("SELECT 1 FROM users LIMIT 1", [], |_| Ok(()))
            .optional()
            .map_err(failed)?;
        Ok(Self {
            conn,
            taken_at: Timestamp::now(),
            walk: PageWalk::default(),
        })
    }
}

impl Snapshot for SqliteSnapshot {
    fn taken_at(&self) -> Timestamp {
        self.taken_at
    }

    async fn next_page(&mut self, limit: u32) -> Result<Vec<User>, StoreError> {
        let Some(query) = self.walk.next_query(limit) else {
            return Ok(Vec::new());
        };
        let page = listing::list(&self.conn, &query)?;
        Ok(self.walk.advance(page))
    }

    async fn finish(self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").map_err(store_error)
    }
}
