//! Opening SQLite connections with the settings a service needs, and mapping
//! SQLite's result codes into [`StoreError`] by name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{ffi, Connection, ErrorCode, OpenFlags};

use crate::storage::StoreError;

/// How long a connection waits for a lock another connection holds. Only the
/// checkpointer and backup ever contend with the writer.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// When a write counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is fsynced before it is acknowledged: survives power loss.
    #[default]
    Full,
    /// Commits survive a process crash; the last moments before a power cut
    /// may be lost.
    Normal,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// Why the database could not be opened. Each message is one line for the
/// operator.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open database {path}: {reason}")]
    CannotOpen { path: PathBuf, reason: String },
    #[error("{path} is not a SQLite database")]
    NotADatabase { path: PathBuf },
    #[error(
        "database {path} is damaged (corrupt or truncated); restore it from a backup \
         (`user-service backup` makes one)"
    )]
    Damaged { path: PathBuf },
    #[error(
        "database {path} has schema version {found}, newer than this binary knows ({known}); \
         run a newer user-service"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot migrate database {path}: {reason}")]
    Migration { path: PathBuf, reason: String },
    #[error(
        "database {path} is in use by another user-service process (a server, or an \
         import writing in one transaction; it holds {lock}); run one server per SQLite \
         file, or several on PostgreSQL"
    )]
    InUse { path: PathBuf, lock: PathBuf },
}

impl OpenError {
    pub(super) fn from_sqlite(path: &Path, error: rusqlite::Error) -> Self {
        let path = path.to_path_buf();
        match error.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => Self::NotADatabase { path },
            Some(ErrorCode::DatabaseCorrupt) => Self::Damaged { path },
            Some(ErrorCode::CannotOpen) => Self::CannotOpen {
                path,
                reason: "the file or its directory is missing or not writable".into(),
            },
            Some(ErrorCode::ReadOnly) => Self::CannotOpen {
                path,
                reason: "the file or its directory is read-only".into(),
            },
            _ => Self::CannotOpen {
                path,
                reason: error.to_string(),
            },
        }
    }
}

fn open_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// The single read-write connection. WAL lets readers run beside it;
/// automatic checkpoints are off because they would run inside a commit and
/// stall it; the checkpointer thread does that work instead.
pub(super) fn open_writer(path: &Path, durability: Durability) -> Result<Connection, OpenError> {
    let conn = Connection::open_with_flags(path, open_flags())
        .map_err(|e| OpenError::from_sqlite(path, e))?;
    conn.busy_handler(Some(wait_for_the_file))
        .map_err(|e| OpenError::from_sqlite(path, e))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|e| OpenError::from_sqlite(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::CannotOpen {
            path: path.to_path_buf(),
            reason: format!("WAL journal mode unavailable (got {mode})"),
        });
    }
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {};
         PRAGMA foreign_keys = ON;
         PRAGMA wal_autocheckpoint = 0;",
        durability.pragma()
    ))
    .map_err(|e| OpenError::from_sqlite(path, e))?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// The writers' wait for a file another process writes to (a live
/// import, or the server beside an import): look again every millisecond,
/// for at most [`BUSY_TIMEOUT`]. SQLite's own busy timeout sleeps longer
/// and longer (up to 100 ms a time), so a writer that waited a moment
/// would keep missing the short gaps a live import leaves between its
/// transactions.
fn wait_for_the_file(attempt: i32) -> bool {
    if u128::try_from(attempt).unwrap_or(u128::MAX) >= BUSY_TIMEOUT.as_millis() {
        return false;
    }
    std::thread::sleep(Duration::from_millis(1));
    true
}

/// Caps the database at `bytes` (rounded down to whole pages). A database
/// already larger keeps its size: SQLite never lowers the cap below the
/// pages in use, so every new page is refused and the log says why.
pub(super) fn cap_size(conn: &Connection, path: &Path, bytes: u64) -> Result<(), OpenError> {
    let error = |e| OpenError::from_sqlite(path, e);
    let page_size = pragma_u64(conn, "page_size").map_err(error)?;
    let pages = (bytes / page_size.max(1)).max(1);
    let cap = pragma_u64(conn, &format!("max_page_count = {pages}")).map_err(error)?;
    if cap > pages {
        log::warn!(
            "{} already takes {} bytes, more than the --max-db-size of {bytes}; \
             writes that need more room will be refused",
            path.display(),
            cap * page_size
        );
    }
    Ok(())
}

/// Whether the database has no room for another page under its cap.
pub(super) fn is_full(conn: &Connection) -> Result<bool, StoreError> {
    let pragma = |name: &str| pragma_u64(conn, name).map_err(store_error);
    // A new user touches a few pages (table and two index leaves, maybe a
    // split); with fewer free than that, the next write is likely refused.
    const PAGES_PER_WRITE: u64 = 8;
    let free =
        pragma("max_page_count")?.saturating_sub(pragma("page_count")?) + pragma("freelist_count")?;
    Ok(free < PAGES_PER_WRITE)
}

/// The number a `PRAGMA` answers (negative would be a SQLite bug: read as 0).
fn pragma_u64(conn: &Connection, pragma: &str) -> Result<u64, rusqlite::Error> {
    let value: i64 = conn.query_row(&format!("PRAGMA {pragma}"), [], |row| row.get(0))?;
    Ok(u64::try_from(value).unwrap_or(0))
}

/// A plain read-write connection for maintenance (checkpoints, backup).
pub(super) fn open_maintenance(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(path, open_flags() - OpenFlags::SQLITE_OPEN_CREATE)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Maps a SQLite failure to a backend-neutral error, by result code name.
pub(super) fn store_error(error: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &error {
        if failure.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE {
            if let Some(field) = message.as_deref().and_then(unique_field) {
                return StoreError::Conflict { field };
            }
        }
        match failure.code {
            ErrorCode::DiskFull => return StoreError::StorageFull,
            ErrorCode::ReadOnly
            | ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure => {
                return StoreError::Unavailable(error.to_string());
            }
            _ => {}
        }
    }
    StoreError::internal(error)
}

/// The column a `UNIQUE constraint failed: users.email` message names.
fn unique_field(message: &str) -> Option<&'static str> {
    message.ends_with("users.email").then_some("email")
}

/// A file beside the database: `users.db` + `-wal` is `users.db-wal`.
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_email_violation_is_a_conflict_on_email() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE users (email TEXT UNIQUE); INSERT INTO users VALUES ('a');",
        )
        .unwrap();
        let err = conn
            .execute("INSERT INTO users VALUES ('a')", [])
            .unwrap_err();
        assert!(matches!(
            store_error(err),
            StoreError::Conflict { field: "email" }
        ));
    }

    #[test]
    fn a_not_null_violation_is_not_a_conflict() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE users (email TEXT NOT NULL);")
            .unwrap();
        let err = conn
            .execute("INSERT INTO users VALUES (NULL)", [])
            .unwrap_err();
        assert!(matches!(store_error(err), StoreError::Internal(_)));
    }

    #[test]
    fn a_full_database_is_storage_full() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB); PRAGMA max_page_count = 2;")
            .unwrap();
        let err = conn
            .execute("INSERT INTO t VALUES (zeroblob(100000))", [])
            .unwrap_err();
        assert!(matches!(store_error(err), StoreError::StorageFull));
    }
}
