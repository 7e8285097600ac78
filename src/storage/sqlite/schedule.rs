//! Backups on a schedule while serving: every `every`, a verified online
//! copy (`backup.rs`) named `<stem>-<UTC time>.db` in the backup
//! directory, then the oldest beyond `keep` removed. A failed backup (disk
//! full, directory gone, check failed) is logged and counted, keeps the
//! older backups and leaves serving alone.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use time::macros::format_description;
use time::OffsetDateTime;

use super::backup::{backup, Copied};
use crate::storage::StorageMetrics;

/// Where, how often and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: NonZeroUsize,
}

/// The thread taking the backups; stopped by [`ScheduledBackups::stop`].
pub(super) struct ScheduledBackups {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl ScheduledBackups {
    pub(super) fn start(
        database: &Path,
        schedule: BackupSchedule,
        metrics: StorageMetrics,
    ) -> std::io::Result<Self> {
        log::info!(
            "backing up {} into {} every {:?}, keeping the newest {}",
            database.display(),
            schedule.dir.display(),
            schedule.every,
            schedule.keep
        );
        let (stop, stopped) = mpsc::channel();
        let database = database.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("backups".into())
            .spawn(move || {
                let mut wait = first_wait(&database, &schedule);
                loop {
                    match stopped.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    take_one(&database, &schedule, &metrics);
                    wait = schedule.every;
                }
            })?;
        Ok(Self { stop, thread })
    }

    /// Stops after the backup in progress, if any.
    pub(super) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// A restart does not reset the schedule: the next backup is due `every`
/// after the newest one already in the directory (at once if none is).
fn first_wait(database: &Path, schedule: &BackupSchedule) -> Duration {
    let newest = backups(database, &schedule.dir)
        .last()
        .and_then(|path| path.metadata().ok())
        .and_then(|meta| meta.modified().ok());
    let Some(newest) = newest else {
        return Duration::ZERO;
    };
    let age = SystemTime::now()
        .duration_since(newest)
        .unwrap_or(Duration::ZERO);
    schedule.every.saturating_sub(age)
}

fn take_one(database: &Path, schedule: &BackupSchedule, metrics: &StorageMetrics) {
    let now = OffsetDateTime::now_utc();
    let target = schedule.dir.join(name(database, now));
    let started = std::time::Instant::now();
    match backup(database, &target) {
        Ok(Copied { users, bytes }) => {
            metrics.backup_succeeded(now.unix_timestamp(), bytes);
            log::info!(
                "backup {} written in {:.2} s: {users} users, {bytes} bytes",
                target.display(),
                started.elapsed().as_secs_f64()
            );
            prune(database, schedule);
        }
        Err(e) => {
            metrics.backup_failed();
            log::error!("scheduled backup failed, older backups kept: {e}");
        }
    }
}

/// `users-20261206T014500.123Z.db` for `users.db`: sorts as it was taken.
fn name(database: &Path, at: OffsetDateTime) -> String {
    let stamp = at
        .format(format_description!(
            "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
        ))
        .unwrap_or_else(|_| at.unix_timestamp().to_string());
    format!("{}-{stamp}.db", stem(database))
}

fn stem(database: &Path) -> String {
    database
        .file_stem()
        .map_or_else(|| "users".into(), |s| s.to_string_lossy().into_owned())
}

/// This database's backups in `dir`, oldest first.
fn backups(database: &Path, dir: &Path) -> Vec<PathBuf> {
    let prefix = format!("{}-", stem(database));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with("Z.db"))
        })
        .collect();
    found.sort();
    found
}

/// Removes the oldest backups beyond `keep`.
fn prune(database: &Path, schedule: &BackupSchedule) {
    let all = backups(database, &schedule.dir);
    let surplus = all.len().saturating_sub(schedule.keep.get());
    for old in &all[..surplus] {
        if let Err(e) = std::fs::remove_file(old) {
            log::warn!("cannot remove old backup {}: {e}", old.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_as_taken_and_only_this_databases_backups_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let db = Path::new("/data/users.db");
        let early = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let later = early + time::Duration::milliseconds(1_500);
        assert_eq!(name(db, early), "users-20270115T080000.000Z.db");
        for file in [
            name(db, later),
            name(db, early),
            "other-20270115T080000.000Z.db".into(),
            "users-20270115T080000.000Z.db.partial".into(),
        ] {
            std::fs::write(dir.path().join(file), b"").unwrap();
        }
        let found: Vec<_> = backups(db, dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(found, [name(db, early), name(db, later)]);
        let schedule = BackupSchedule {
            dir: dir.path().into(),
            every: Duration::from_secs(60),
            keep: NonZeroUsize::new(1).unwrap(),
        };
        prune(db, &schedule);
        assert_eq!(backups(db, dir.path()).len(), 1);
        assert!(dir.path().join(name(db, later)).exists());
    }
}
