//! `restore`: puts a backup in place of a database file the way a careful
//! operator would by hand, but checked and atomic. The backup must pass
//! `PRAGMA integrity_check`, hold a users table, and have a schema this
//! binary knows (not newer); no server may hold the target (its lock is
//! taken for the whole restore, so none starts meanwhile). The backup is
//! copied beside the target and verified there; the target's WAL is folded
//! into it, or moved aside when the target is too damaged for that (so no
//! stale WAL can ever be replayed onto the restored file); then one rename
//! replaces it. A crash at any point leaves either the old
//! database, whole, or the restored one.

use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::backup::{backup, BackupError, Copied};
use super::claim;
use super::connection::{sibling, OpenError};
use super::migrate;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("backup {path} cannot be used: {reason}; nothing was changed")]
    Backup { path: PathBuf, reason: String },
    #[error(
        "backup {path} has schema version {found}, newer than this binary knows ({known}); \
         restore it with a newer user-service; nothing was changed"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{0}; nothing was changed")]
    Target(#[from] OpenError),
    #[error("{0}; nothing was changed")]
    Copy(#[from] BackupError),
    #[error("cannot replace {path}: {reason}")]
    Replace { path: PathBuf, reason: String },
}

/// Replaces the database at `target` with the backup at `from`; returns
/// what the restored database holds.
pub fn restore(from: &Path, target: &Path) -> Result<Copied, RestoreError> {
    check_backup(from)?;
    let _claim = claim::for_server(target, true)?;
    let staging = sibling(target, ".restoring");
    let _ = std::fs::remove_file(&staging);
    let copied = backup(from, &staging)?;
    let replace_error = |reason: String| RestoreError::Replace {
        path: target.to_path_buf(),
        reason,
    };
    if target.exists() {
        if let Err(e) = fold_wal(target) {
            // A damaged database is what a restore is often for: its WAL
            // is kept aside, never replayed onto the restored file.
            let aside = sibling(target, "-wal.before-restore");
            log::warn!(
                "cannot checkpoint {} ({e}); its WAL is kept as {}",
                target.display(),
                aside.display()
            );
            let wal = sibling(target, "-wal");
            if wal.exists() {
                std::fs::rename(&wal, &aside).map_err(|e| {
                    let _ = std::fs::remove_file(&staging);
                    replace_error(format!(
                        "cannot move its WAL aside: {e}; nothing was changed"
                    ))
                })?;
            }
        }
    }
    std::fs::rename(&staging, target).map_err(|e| replace_error(e.to_string()))?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sibling(target, suffix));
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(copied)
}

/// Integrity, a users table, and a schema no newer than this binary's.
fn check_backup(from: &Path) -> Result<(), RestoreError> {
    let unusable = |reason: String| RestoreError::Backup {
        path: from.to_path_buf(),
        reason,
    };
    if !from.is_file() {
        return Err(unusable("no such file".into()));
    }
    let conn = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| unusable(e.to_string()))?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|e| unusable(e.to_string()))?;
    if check != "ok" {
        return Err(unusable(format!("integrity check: {check}")));
    }
    let has_users: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'users')",
            [],
            |row| row.get(0),
        )
        .map_err(|e| unusable(e.to_string()))?;
    if !has_users {
        return Err(unusable("it has no users table".into()));
    }
    let known = migrate::known_version();
    if let Some(found) = migrate::applied_version(&conn).map_err(|e| unusable(e.to_string()))? {
        if found > known {
            return Err(RestoreError::SchemaTooNew {
                path: from.to_path_buf(),
                found,
                known,
            });
        }
    }
    Ok(())
}

/// Copies what the target's WAL holds into the file and empties the WAL.
fn fold_wal(target: &Path) -> Result<(), rusqlite::Error> {
    let conn = Connection::open(target)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
}
