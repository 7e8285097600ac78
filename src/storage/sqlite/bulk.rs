//! `SqliteLoader`: the `import` command's path into SQLite — one write
//! connection, one transaction, one cached INSERT per row.

use std::path::Path;

use rusqlite::Connection;

use super::connection::{self, store_error, Durability, OpenError};
use super::{migrate, queries};
use crate::domain::{Email, User, UserId};
use crate::storage::{BulkLoad, StoreError};

/// An open import transaction on a SQLite file. While it is open, a server
/// on the same file waits for it to write (reads go on).
pub struct SqliteLoader {
    conn: Connection,
}

impl SqliteLoader {
    /// Opens (creating if needed) and migrates the database, and starts the
    /// import's transaction.
    pub fn begin(path: &Path) -> Result<Self, OpenError> {
        let mut conn = connection::open_writer(path, Durability::Full)?;
        migrate::apply(&mut conn)?;
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| OpenError::from_sqlite(path, e))?;
        Ok(Self { conn })
    }
}

impl BulkLoad for SqliteLoader {
    async fn insert(&mut self, users: &[User]) -> Result<Vec<bool>, StoreError> {
        const SQL: &str = "INSERT INTO users (id, email, name, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
        let mut stmt = self.conn.prepare_cached(SQL).map_err(store_error)?;
        users
            .iter()
            .map(|user| {
                stmt.execute((
                    user.id.as_bytes().as_slice(),
                    user.email.as_str(),
                    user.name.as_str(),
                    user.created_at.unix_micros(),
                    user.updated_at.unix_micros(),
                ))
                .map(|inserted| inserted == 1)
                .map_err(store_error)
            })
            .collect()
    }

    async fn find_by_id(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        queries::get(&self.conn, id)
    }

    async fn find_by_email(&mut self, email: &Email) -> Result<Option<User>, StoreError> {
        queries::by_email(&self.conn, email)
    }

    async fn update(&mut self, user: &User) -> Result<bool, StoreError> {
        // A failed statement undoes only itself; the import's transaction
        // goes on.
        match queries::update(&self.conn, user) {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").map_err(store_error)?;
        // Fold the import's WAL into the file now rather than leave it to
        // the next server start.
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(store_error)
    }
}
