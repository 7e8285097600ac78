//! Schema migrations, embedded in the binary and applied at start-up.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use super::connection::{self, Durability, OpenError};

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

const HISTORY_TABLE: &str = "refinery_schema_history";

/// Opens the database at `path` and applies pending migrations; returns the
/// versions applied now (empty when it was already current).
pub fn migrate(path: &Path) -> Result<Vec<i64>, OpenError> {
    let mut conn = connection::open_writer(path, Durability::Full)?;
    apply(&mut conn)
}

/// Applies pending migrations on `conn`, refusing a database whose schema is
/// newer than this binary knows (running on it could corrupt its data).
pub(super) fn apply(conn: &mut Connection) -> Result<Vec<i64>, OpenError> {
    let path = conn_path(conn);
    let runner = embedded::migrations::runner();
    let known = known_version();
    if let Some(found) = applied_version(conn).map_err(|e| OpenError::from_sqlite(&path, e))? {
        if found > known {
            return Err(OpenError::SchemaTooNew { path, found, known });
        }
    }
    let report = runner.run(conn).map_err(|e| OpenError::Migration {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .collect())
}

/// The newest schema version this binary has a migration for.
pub(super) fn known_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// The highest migration version recorded in the database, if any.
pub(super) fn applied_version(conn: &Connection) -> Result<Option<i64>, rusqlite::Error> {
    let has_history: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
        [HISTORY_TABLE],
        |row| row.get(0),
    )?;
    if !has_history {
        return Ok(None);
    }
    conn.query_row(
        &format!("SELECT MAX(version) FROM {HISTORY_TABLE}"),
        [],
        |row| row.get::<_, Option<i64>>(0),
    )
    .optional()
    .map(Option::flatten)
}

fn conn_path(conn: &Connection) -> PathBuf {
    PathBuf::from(conn.path().unwrap_or_default())
}
