//! A read transaction the process keeps open beside its readers, so their
//! own read transactions take no file locks from the kernel.
//!
//! Why: in WAL mode every read transaction takes a shared POSIX lock on a
//! read-mark slot of the `-shm` file and drops it at the end: two `fcntl`
//! calls per `GET /users/{id}` that misses the read cache, about an eighth
//! of such a request's server time (BENCHMARKS.md). SQLite counts these locks per process
//! and calls the kernel only when the first connection of the process takes
//! a slot or the last one leaves it. The anchor holds the slot of the newest
//! snapshot, so a reader at that snapshot joins it with a counter.
//!
//! What it must not do is hold the WAL back: a checkpoint cannot copy frames
//! newer than the oldest snapshot still read; the WAL restarts from its
//! beginning only when no reader holds a slot other than slot 0 (the slot
//! of a reader that began when the WAL held nothing uncopied, and so reads
//! the database file alone); and a reader on slot 0 keeps any checkpoint
//! from copying. So the anchor moves
//! to the newest snapshot after every commit of this process's writer and,
//! for writers in other processes (`import`), on every tick of the
//! checkpointer; and it lets go for the length of every checkpoint, taking
//! the new snapshot after it — on slot 0 when the checkpoint copied
//! everything, which lets the writer's next transaction restart the WAL.
//!
//! The anchor never decides what a read sees: each reader still begins its
//! own transaction at the newest commit.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use rusqlite::Connection;

use super::reader::{make_read_only, read_flags};

/// The writer thread moves the anchor after each commit: it must never wait
/// for a lock there (a reader waits only while another process recovers the
/// WAL after a crash). Without the anchor reads are just slower, and the
/// next move tries again.
const ANCHOR_BUSY_TIMEOUT: Duration = Duration::ZERO;

/// Starts a read transaction: a deferred `BEGIN` takes its snapshot at the
/// first read.
const BEGIN: &str = "BEGIN DEFERRED";
const FIRST_READ: &str = "PRAGMA schema_version";

pub(super) struct ReadAnchor {
    /// `None` once closed (or for a store without one).
    conn: Mutex<Option<Connection>>,
}

impl ReadAnchor {
    /// An anchor on the database at `path`, holding its newest snapshot.
    /// Without one, reads are only slower; so failing to open one is logged,
    /// not an error.
    pub(super) fn open(path: &Path) -> Self {
        let conn = match Connection::open_with_flags(path, read_flags())
            .and_then(|conn| make_read_only(&conn, ANCHOR_BUSY_TIMEOUT).map(|()| conn))
        {
            Ok(conn) => Some(conn),
            Err(e) => {
                log::warn!("no read anchor on {}: {e}", path.display());
                None
            }
        };
        let anchor = Self {
            conn: Mutex::new(conn),
        };
        anchor.refresh();
        anchor
    }

    /// No anchor: every method does nothing.
    #[cfg(test)]
    pub(super) fn none() -> Self {
        Self {
            conn: Mutex::new(None),
        }
    }

    /// Moves the anchor to the newest snapshot. Skipped while a checkpoint
    /// has the anchor released, so a commit never waits for a checkpoint.
    pub(super) fn refresh(&self) {
        if let Some(slot) = self.try_lock() {
            if let Some(conn) = slot.as_ref() {
                end(conn);
                begin(conn);
            }
        }
    }

    /// Runs `checkpoint` with the anchor's snapshot let go, then anchors the
    /// newest snapshot again. Waits while another thread has it.
    pub(super) fn released_for<T>(&self, checkpoint: impl FnOnce() -> T) -> T {
        released(self.lock(), checkpoint)
    }

    /// Like [`released_for`](Self::released_for), but `None` at once while
    /// another thread has the anchor (checkpointing, most likely): for the
    /// writer, which must not wait for another checkpoint to end.
    pub(super) fn try_released_for<T>(&self, checkpoint: impl FnOnce() -> T) -> Option<T> {
        self.try_lock().map(|slot| released(slot, checkpoint))
    }

    /// Lets go for good: the final checkpoint must find no reader.
    pub(super) fn close(&self) {
        if let Some(conn) = self.lock().take() {
            end(&conn);
        }
    }

    /// Whether the anchor holds a snapshot now.
    #[cfg(test)]
    fn holds_a_snapshot(&self) -> bool {
        self.lock()
            .as_ref()
            .is_some_and(|conn| !conn.is_autocommit())
    }

    // Nothing the anchor does under the lock can leave it inconsistent, so a
    // poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, Option<Connection>> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn try_lock(&self) -> Option<MutexGuard<'_, Option<Connection>>> {
        match self.conn.try_lock() {
            Ok(slot) => Some(slot),
            Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

fn released<T>(slot: MutexGuard<'_, Option<Connection>>, checkpoint: impl FnOnce() -> T) -> T {
    if let Some(conn) = slot.as_ref() {
        end(conn);
    }
    let result = checkpoint();
    if let Some(conn) = slot.as_ref() {
        begin(conn);
    }
    result
}

fn begin(conn: &Connection) {
    let started = conn.execute_batch(BEGIN).and_then(|()| {
        conn.prepare_cached(FIRST_READ)?
            .query_row([], |row| row.get::<_, i64>(0))
    });
    if let Err(e) = started {
        // Reads go on without it (only slower); the next refresh retries.
        log::debug!("read anchor not taken: {e}");
        end(conn);
    }
}

fn end(conn: &Connection) {
    if !conn.is_autocommit() {
        if let Err(e) = conn.execute_batch("COMMIT") {
            log::warn!("read anchor not released: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x INTEGER);",
            )
            .unwrap();
        (dir, path, writer)
    }

    fn wal_frames(conn: &Connection, mode: &str) -> (i64, i64, i64) {
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .unwrap()
    }

    #[test]
    fn a_released_anchor_lets_a_checkpoint_restart_the_wal() {
        let (_dir, path, writer) = database();
        let anchor = ReadAnchor::open(&path);
        for x in 0..50 {
            writer.execute("INSERT INTO t VALUES (?1)", [x]).unwrap();
        }
        anchor.refresh();
        assert!(anchor.holds_a_snapshot());
        // Held, the anchor's slot keeps a restarting checkpoint waiting;
        // with no busy handler it gives up at once.
        writer.busy_timeout(std::time::Duration::ZERO).unwrap();
        assert_eq!(wal_frames(&writer, "RESTART").0, 1, "busy while anchored");
        let (busy, frames, copied) = anchor.released_for(|| wal_frames(&writer, "RESTART"));
        assert_eq!(
            (busy, copied),
            (0, frames),
            "released, everything is copied"
        );
        assert!(frames >= 50);
        assert!(anchor.holds_a_snapshot(), "anchored again afterwards");
        // Re-anchored on slot 0, so the next write starts the WAL over.
        writer.execute("INSERT INTO t VALUES (50)", []).unwrap();
        anchor.refresh();
        let (_, frames, _) = wal_frames(&writer, "PASSIVE");
        assert!(frames < 5, "the WAL did not restart: {frames} frames");
    }

    #[test]
    fn readers_see_commits_made_after_the_anchor_was_taken() {
        let (_dir, path, writer) = database();
        let anchor = ReadAnchor::open(&path);
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let reader = Connection::open(&path).unwrap();
        let count = || -> i64 {
            reader
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count(), 1);
        anchor.refresh();
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_eq!(count(), 2);
    }

    #[test]
    fn a_closed_anchor_holds_nothing_and_stays_closed() {
        let (_dir, path, writer) = database();
        let anchor = ReadAnchor::open(&path);
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        anchor.refresh();
        anchor.close();
        anchor.refresh();
        assert!(!anchor.holds_a_snapshot());
        writer.busy_timeout(std::time::Duration::ZERO).unwrap();
        assert_eq!(wal_frames(&writer, "TRUNCATE").0, 0);
        assert!(!ReadAnchor::none().holds_a_snapshot());
    }
}
