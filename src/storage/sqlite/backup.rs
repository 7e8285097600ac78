//! Online backup: a consistent copy of a live database, taken while a server
//! keeps reading and writing it.

use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::connection;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; refusing to overwrite it")]
    TargetExists(PathBuf),
    #[error("cannot read database {path}: {reason}")]
    Source { path: PathBuf, reason: String },
    #[error("cannot write backup {path}: {reason}")]
    Target { path: PathBuf, reason: String },
    #[error("backup {path} failed its integrity check: {detail}")]
    Corrupt { path: PathBuf, detail: String },
}

/// Copies the database at `source` to `target` and verifies the copy.
///
/// `VACUUM INTO` reads one snapshot of the WAL-mode database, so writers go
/// on while it runs and the copy is consistent as of its start. The copy is
/// written beside the target, fsynced, checked, and only then renamed into
/// place, so a failed backup never leaves a half-written file at `target`.
/// Returns the number of users in the copy.
pub fn backup(source: &Path, target: &Path) -> Result<u64, BackupError> {
    if target.exists() {
        return Err(BackupError::TargetExists(target.to_path_buf()));
    }
    if !source.is_file() {
        return Err(BackupError::Source {
            path: source.to_path_buf(),
            reason: "no such file".into(),
        });
    }
    let partial = partial_path(target);
    let _ = std::fs::remove_file(&partial);
    let result = copy_and_verify(source, &partial, target);
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn copy_and_verify(source: &Path, partial: &Path, target: &Path) -> Result<u64, BackupError> {
    let source_error = |e: rusqlite::Error| BackupError::Source {
        path: source.to_path_buf(),
        reason: e.to_string(),
    };
    let target_error = |reason: String| BackupError::Target {
        path: target.to_path_buf(),
        reason,
    };
    let conn = connection::open_maintenance(source).map_err(source_error)?;
    let partial_text = partial
        .to_str()
        .ok_or_else(|| target_error("the path is not valid UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [partial_text])
        .map_err(|e| target_error(e.to_string()))?;
    drop(conn);

    File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| target_error(e.to_string()))?;
    let users = verify(partial).map_err(|detail| BackupError::Corrupt {
        path: target.to_path_buf(),
        detail,
    })?;
    std::fs::rename(partial, target).map_err(|e| target_error(e.to_string()))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename itself durable.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(users)
}

fn verify(path: &Path) -> Result<u64, String> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| e.to_string())?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    if check != "ok" {
        return Err(check);
    }
    let users: i64 = conn
        .query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    u64::try_from(users).map_err(|e| e.to_string())
}

fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}
