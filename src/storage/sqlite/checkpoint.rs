//! The WAL checkpointer: copies committed pages from the WAL back into the
//! main database file on its own thread, so the writer's commits never pay
//! for it.
//!
//! A checkpoint ends with an fsync of the database file, and on a journaled
//! filesystem that fsync delays the writer's own WAL fsyncs: measured, a
//! checkpoint every 250 ms under a durable write load gave commit stalls of
//! 40-330 ms (p99 of POST 130 ms). So under load the checkpointer waits for
//! [`COMMITS_PER_CHECKPOINT`] commits, and otherwise checkpoints as soon as
//! the writer goes idle.
//!
//! SQLite restarts the WAL from its beginning only after a checkpoint has
//! copied every frame, which a checkpoint running beside a busy writer never
//! does (measured: the WAL grew to 670 MB in 10 s). So after each checkpoint
//! under load, the writer is asked to catch up: between two batches it runs
//! a short checkpoint of the few frames added since, and its next
//! transaction starts the WAL over.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::anchor::ReadAnchor;
use super::connection::{self, OpenError};

/// How often the checkpointer looks at the writer.
const TICK: Duration = Duration::from_millis(100);
/// Under continuous writes, checkpoint after this many commits (bounds the
/// WAL to a few tens of MiB).
const COMMITS_PER_CHECKPOINT: u64 = 1_000;
/// An idle writer with a WAL file larger than this gets it truncated.
const WAL_TRUNCATE_BYTES: u64 = 64 * 1024 * 1024;

/// What the writer and the checkpointer share.
pub(super) struct WalActivity {
    /// Transactions the writer has committed.
    commits: AtomicU64,
    /// Set by the checkpointer: the writer should checkpoint the rest.
    catch_up: AtomicBool,
    /// Moved on by both, released by both for their checkpoints.
    anchor: ReadAnchor,
}

impl WalActivity {
    pub(super) fn new(anchor: ReadAnchor) -> Self {
        Self {
            commits: AtomicU64::new(0),
            catch_up: AtomicBool::new(false),
            anchor,
        }
    }

    /// Called by the writer after each commit, once it has answered.
    pub(super) fn committed(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.anchor.refresh();
    }

    /// Called by the writer between batches: finishes a checkpoint the
    /// checkpointer started, so the WAL can restart instead of growing.
    pub(super) fn catch_up(&self, conn: &Connection) {
        if self.catch_up.swap(false, Ordering::Relaxed) {
            self.checkpoint(conn, "PASSIVE");
        }
    }

    /// Called by the writer as it stops: no reader may stay behind.
    pub(super) fn close(&self, conn: &Connection) {
        self.anchor.close();
        self.checkpoint(conn, "TRUNCATE");
    }

    /// Runs `PRAGMA wal_checkpoint(mode)` with the read anchor let go.
    fn checkpoint(&self, conn: &Connection, mode: &str) -> bool {
        let done = self
            .anchor
            .released_for(|| conn.execute_batch(&format!("PRAGMA wal_checkpoint({mode});")));
        if let Err(e) = &done {
            log::warn!("WAL checkpoint ({mode}) failed: {e}");
        }
        done.is_ok()
    }
}

pub(super) struct Checkpointer {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts checkpointing `path`, watching the writer through `activity`.
    pub(super) fn start(path: &Path, activity: Arc<WalActivity>) -> Result<Self, OpenError> {
        let conn =
            connection::open_maintenance(path).map_err(|e| OpenError::from_sqlite(path, e))?;
        let wal = wal_path(path);
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &wal, &activity, &stopped))
            .map_err(|e| OpenError::CannotOpen {
                path: path.to_path_buf(),
                reason: format!("cannot start the checkpoint thread: {e}"),
            })?;
        Ok(Self { stop, thread })
    }

    pub(super) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

fn run(conn: &Connection, wal: &Path, activity: &WalActivity, stopped: &mpsc::Receiver<()>) {
    let commits = &activity.commits;
    let mut checkpointed_at = commits.load(Ordering::Relaxed);
    let mut last_seen = checkpointed_at;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
        // Another process (`import`) may have committed since.
        activity.anchor.refresh();
        let now = commits.load(Ordering::Relaxed);
        let idle = now == last_seen;
        last_seen = now;
        let pending = now - checkpointed_at;
        if pending == 0 || !(idle || pending >= COMMITS_PER_CHECKPOINT) {
            continue;
        }
        let oversized = std::fs::metadata(wal).is_ok_and(|m| m.len() > WAL_TRUNCATE_BYTES);
        let mode = if idle && oversized {
            "TRUNCATE"
        } else {
            "PASSIVE"
        };
        if activity.checkpoint(conn, mode) {
            checkpointed_at = now;
            if !idle {
                activity.catch_up.store(true, Ordering::Relaxed);
            }
        }
    }
}

fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}
