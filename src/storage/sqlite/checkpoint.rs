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
//! a short checkpoint of the few frames added since, waiting a moment for
//! reads still on the WAL, and its next transaction starts the WAL over.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::anchor::ReadAnchor;
use super::connection::{self, OpenError, BUSY_TIMEOUT};

/// How often the checkpointer looks at the writer.
const TICK: Duration = Duration::from_millis(100);
/// Under continuous writes, checkpoint after this many commits (bounds the
/// WAL to a few tens of MiB).
const COMMITS_PER_CHECKPOINT: u64 = 1_000;
/// How long the writer's catch-up waits for reads to leave the WAL.
const RESTART_WAIT: Duration = Duration::from_millis(5);
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
    /// While the checkpointer is in another checkpoint, the writer does not
    /// wait for it: it tries again after its next batch.
    pub(super) fn catch_up(&self, conn: &Connection) {
        if !self.catch_up.swap(false, Ordering::Relaxed) {
            return;
        }
        let done = self.anchor.try_released_for(|| restart(conn));
        if done.is_none() {
            self.catch_up.store(true, Ordering::Relaxed);
        }
    }

    /// Called by the writer as it stops: no reader may stay behind.
    pub(super) fn close(&self, conn: &Connection) {
        self.anchor.close();
        self.checkpoint(conn, "TRUNCATE");
    }

    /// Runs a checkpoint in `mode` with the read anchor let go.
    fn checkpoint(&self, conn: &Connection, mode: &str) -> bool {
        self.anchor.released_for(|| wal_checkpoint(conn, mode))
    }
}

/// Copies what is left in the WAL and waits a moment for reads still on
/// it, so the writer's next transaction starts the WAL over. A `PASSIVE`
/// checkpoint here left that to chance: under a steady read load some read
/// was often on the WAL when the next transaction began, and the WAL grew
/// on to the next checkpoint (store test, 16,000 creates and steady reads:
/// 37 MB, 52 MB on a busy machine; with the wait 24-25 MB, one checkpoint
/// cycle's worth, and 36 MB busy). Reads last microseconds; a long one
/// (another process's backup) makes the writer give up after
/// [`RESTART_WAIT`] and try at the next checkpoint.
fn restart(conn: &Connection) -> bool {
    if let Err(e) = conn.busy_timeout(RESTART_WAIT) {
        log::warn!("WAL catch-up skipped: {e}");
        return false;
    }
    let done = wal_checkpoint(conn, "RESTART");
    if let Err(e) = conn.busy_timeout(BUSY_TIMEOUT) {
        log::warn!("the writer's busy timeout could not be restored: {e}");
    }
    done
}

/// Runs `PRAGMA wal_checkpoint(mode)`; whether it ran.
fn wal_checkpoint(conn: &Connection, mode: &str) -> bool {
    let done = conn.execute_batch(&format!("PRAGMA wal_checkpoint({mode});"));
    if let Err(e) = &done {
        log::warn!("WAL checkpoint ({mode}) failed: {e}");
    }
    done.is_ok()
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
    connection::sibling(path, "-wal")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Barrier;

    use super::*;

    #[test]
    fn the_writers_catch_up_does_not_wait_for_a_running_checkpoint_and_tries_again_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER);")
            .unwrap();
        let activity = Arc::new(WalActivity::new(ReadAnchor::open(&path)));
        activity.catch_up.store(true, Ordering::Relaxed);

        // The checkpointer thread is in a checkpoint until told to end it
        // (or, if the writer wrongly waits for it, for 10 s).
        let (started, ended) = (Arc::new(Barrier::new(2)), Arc::new(AtomicBool::new(false)));
        let (go_on_tx, go_on) = mpsc::channel::<()>();
        let checkpointer = {
            let (activity, started, ended) = (activity.clone(), started.clone(), ended.clone());
            std::thread::spawn(move || {
                activity.anchor.released_for(|| {
                    started.wait();
                    let _ = go_on.recv_timeout(Duration::from_secs(10));
                    ended.store(true, Ordering::SeqCst);
                });
            })
        };
        started.wait();
        activity.catch_up(&writer);
        assert!(
            !ended.load(Ordering::SeqCst),
            "the writer waited for the checkpoint"
        );
        assert!(
            activity.catch_up.load(Ordering::Relaxed),
            "the catch-up was forgotten"
        );

        go_on_tx.send(()).unwrap();
        checkpointer.join().unwrap();
        activity.catch_up(&writer);
        assert!(
            !activity.catch_up.load(Ordering::Relaxed),
            "caught up once free"
        );
    }
}
