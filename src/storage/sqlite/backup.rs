//! Online backup: a consistent copy of a live database, taken while a server
//! keeps reading and writing it.

use std::fs::File;
use std::path::{Path, PathBuf};

use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::connection::{self, sibling};

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

/// What a backup wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub users: u64,
    pub bytes: u64,
}

/// Pages copied per step of SQLite's online backup (4 MiB at 4 KiB pages),
/// and the pause between steps, so the copy's reads and writes come in
/// small bursts beside the server's own fsyncs.
const STEP_PAGES: i32 = 1024;
const STEP_PAUSE: Duration = Duration::from_millis(2);

/// Copies the database at `source` to `target` and verifies the copy.
///
/// SQLite's online backup, in steps, inside one read transaction on the
/// source: in WAL mode the copy is the database as of the transaction's
/// start, writers go on meanwhile and never wait for it, and the copy never
/// restarts however much they write (a backup without that transaction
/// starts again whenever another connection writes between two steps).
/// The copy is written beside the target, fsynced, checked (`PRAGMA
/// integrity_check`), and only then renamed into place, so a failed backup
/// never leaves a half-written file at `target`.
pub fn backup(source: &Path, target: &Path) -> Result<Copied, BackupError> {
    if target.exists() {
        return Err(BackupError::TargetExists(target.to_path_buf()));
    }
    if !source.is_file() {
        return Err(BackupError::Source {
            path: source.to_path_buf(),
            reason: "no such file".into(),
        });
    }
    let partial = sibling(target, ".partial");
    let _ = std::fs::remove_file(&partial);
    let result = copy_and_verify(source, &partial, target);
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn copy_and_verify(source: &Path, partial: &Path, target: &Path) -> Result<Copied, BackupError> {
    let source_error = |e: rusqlite::Error| BackupError::Source {
        path: source.to_path_buf(),
        reason: e.to_string(),
    };
    let target_error = |reason: String| BackupError::Target {
        path: target.to_path_buf(),
        reason,
    };
    let conn = connection::open_maintenance(source).map_err(source_error)?;
    // The snapshot every step reads: taken by the first read.
    conn.execute_batch("BEGIN DEFERRED").map_err(source_error)?;
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(source_error)?;
    let mut copy = Connection::open(partial).map_err(|e| target_error(e.to_string()))?;
    // Each step's pages are flushed to disk before the next: left to pile
    // up, the copy's dirty pages were written back in one burst that made
    // the server's own commits (each an fsync) wait behind it.
    let flush = File::open(partial).map_err(|e| target_error(e.to_string()))?;
    {
        let online = Backup::new(&conn, &mut copy).map_err(|e| target_error(e.to_string()))?;
        loop {
            let step = online
                .step(STEP_PAGES)
                .map_err(|e| target_error(e.to_string()))?;
            flush.sync_data().map_err(|e| target_error(e.to_string()))?;
            if step == StepResult::Done {
                break;
            }
            std::thread::sleep(STEP_PAUSE);
        }
    }
    drop(copy);
    drop(conn);

    let file = File::open(partial).map_err(|e| target_error(e.to_string()))?;
    file.sync_all().map_err(|e| target_error(e.to_string()))?;
    let bytes = file
        .metadata()
        .map_err(|e| target_error(e.to_string()))?
        .len();
    let users = verify(partial).map_err(|detail| BackupError::Corrupt {
        path: target.to_path_buf(),
        detail,
    })?;
    std::fs::rename(partial, target).map_err(|e| target_error(e.to_string()))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename itself durable.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(Copied { users, bytes })
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
