//! The WAL checkpointer: copies committed pages from the WAL into the main
//! database file on its own thread, so the writer's commits never pay for it.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::connection::{self, OpenError};

/// How often pages are copied back. Short enough that the WAL stays small
/// under steady writes, long enough to cost nothing when idle.
const INTERVAL: Duration = Duration::from_millis(250);
/// A WAL larger than this is truncated once it has been fully copied back.
const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

pub(super) struct Checkpointer {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path) -> Result<Self, OpenError> {
        let conn =
            connection::open_maintenance(path).map_err(|e| OpenError::from_sqlite(path, e))?;
        let wal = wal_path(path);
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &wal, &stopped))
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

fn run(conn: &Connection, wal: &Path, stopped: &mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        let oversized = std::fs::metadata(wal).is_ok_and(|m| m.len() > WAL_LIMIT_BYTES);
        let mode = if oversized { "TRUNCATE" } else { "PASSIVE" };
        if let Err(e) = conn.execute_batch(&format!("PRAGMA wal_checkpoint({mode});")) {
            log::warn!("WAL checkpoint ({mode}) failed: {e}");
        }
    }
}

fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}
