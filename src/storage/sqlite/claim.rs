//! Who else uses a SQLite file: `<database>.lock`, an `flock` released
//! when its process ends, however it ends. A separate file, because closing
//! any descriptor of the database file itself would drop SQLite's POSIX
//! locks on it.
//!
//! - A server with the read cache takes it exclusively: the cache is exact
//!   only while its process's writer is the only one changing existing
//!   users, so a second server on the file (a deploy that starts the new
//!   process before the old one stops, say) is refused instead of letting
//!   the first serve stale users. A server without the cache shares it.
//! - `import` takes it exclusively when it can (no server runs): it then
//!   writes in one transaction, and a server started meanwhile is refused
//!   rather than left waiting for it. When a server holds it, the import is
//!   live (short transactions, the server keeps writing), and may update
//!   existing users only beside a server without the cache.
//! - `export` and `backup` do not take it: they only read.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::connection::{sibling, OpenError};

/// Takes the lock for a server: exclusively with the read cache.
pub(super) fn for_server(path: &Path, exclusive: bool) -> Result<File, OpenError> {
    let (lock, file) = open(path)?;
    let locked = match exclusive {
        true => file.try_lock(),
        false => file.try_lock_shared(),
    };
    match locked {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(OpenError::InUse {
            path: path.to_path_buf(),
            lock,
        }),
        Err(TryLockError::Error(e)) => Err(cannot_lock(path, &lock, &e)),
    }
}

/// Who serves the file an import writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Nobody: the import holds the file alone.
    No,
    /// A server without the read cache.
    WithoutCache,
    /// A server with the read cache.
    WithCache,
}

/// Takes the lock for an import as firmly as it can, and says who else
/// serves the file. The file is held until dropped (`None`: a caching
/// server holds it).
pub(super) fn for_import(path: &Path) -> Result<(Option<File>, Served), OpenError> {
    let (lock, file) = open(path)?;
    match file.try_lock() {
        Ok(()) => return Ok((Some(file), Served::No)),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => return Err(cannot_lock(path, &lock, &e)),
    }
    match file.try_lock_shared() {
        Ok(()) => Ok((Some(file), Served::WithoutCache)),
        Err(TryLockError::WouldBlock) => Ok((None, Served::WithCache)),
        Err(TryLockError::Error(e)) => Err(cannot_lock(path, &lock, &e)),
    }
}

fn open(path: &Path) -> Result<(PathBuf, File), OpenError> {
    let lock = sibling(path, ".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|e| OpenError::CannotOpen {
            path: path.to_path_buf(),
            reason: format!("cannot create its lock file {}: {e}", lock.display()),
        })?;
    Ok((lock, file))
}

fn cannot_lock(path: &Path, lock: &Path, e: &std::io::Error) -> OpenError {
    OpenError::CannotOpen {
        path: path.to_path_buf(),
        reason: format!("cannot lock {}: {e}", lock.display()),
    }
}

/// Whether a server (or an import writing alone) holds the file now. A
/// look, not a claim: the answer can change the next moment.
pub fn is_served(path: &Path) -> bool {
    match File::open(sibling(path, ".lock")) {
        Ok(file) => {
            matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
                || matches!(file.try_lock(), Err(TryLockError::WouldBlock))
        }
        Err(_) => false,
    }
}
