//! The writer thread: the only owner of the read-write connection.
//!
//! Requests send a [`WriteOp`] with a [`Reply`] over a bounded queue.
//! The thread takes the first waiting op, drains whatever else is queued (up
//! to [`MAX_BATCH`]), and hands them to [`super::batch`], which runs them all
//! inside one transaction, commits once, and only then answers. So one fsync
//! covers the whole batch and a reply always means the change is committed
//! with the configured durability.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::mpsc;

use super::batch::{commit_batch_or_recover, WriteOp, MAX_BATCH};
use super::cache::UserCache;
use super::checkpoint::WalActivity;
use super::idempotency::KeySweep;
use super::reply::{Reply, WriteOutcome};
use super::search_index::Upkeep;
use super::OpenError;
use crate::storage::StorageMetrics;
use crate::storage::StoreError;

/// Ops waiting beyond this make new writers wait (back-pressure).
const QUEUE_CAPACITY: usize = 1024;
/// How long a request waits for room in a full queue before the service
/// answers 503.
const ENQUEUE_TIMEOUT: Duration = Duration::from_secs(5);
/// The writer thread's nice value (see [`lower_priority`]).
const WRITER_NICE: i32 = 5;

enum Message {
    /// An op, where to answer, and when it was queued.
    Op(WriteOp, Reply, Instant),
    Stop,
}

/// A handle to the writer thread; clones share the thread.
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Message>,
    enqueue_timeout: Duration,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Writer {
    /// Starts the thread; it keeps `cache` (if any) in step with its commits
    /// and tells the checkpointer through `activity`.
    pub(super) fn start(
        conn: Connection,
        activity: Arc<WalActivity>,
        metrics: StorageMetrics,
        cache: Option<Arc<UserCache>>,
        key_ttl: Duration,
    ) -> Result<Self, OpenError> {
        Self::start_with(
            conn,
            activity,
            metrics,
            cache,
            (QUEUE_CAPACITY, ENQUEUE_TIMEOUT),
            key_ttl,
        )
    }

    /// `queue` is its capacity and how long a write waits for room.
    fn start_with(
        conn: Connection,
        activity: Arc<WalActivity>,
        metrics: StorageMetrics,
        cache: Option<Arc<UserCache>>,
        (capacity, enqueue_timeout): (usize, Duration),
        key_ttl: Duration,
    ) -> Result<Self, OpenError> {
        let (queue, inbox) = mpsc::channel(capacity);
        let keys = KeySweep::new(key_ttl);
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, inbox, &activity, &metrics, cache.as_deref(), keys))
            .map_err(|e| OpenError::CannotOpen {
                path: Default::default(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Self {
            queue,
            enqueue_timeout,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Writes waiting in the queue now.
    pub(super) fn queued(&self) -> u64 {
        (self.queue.max_capacity() - self.queue.capacity()) as u64
    }

    /// Queues `op` and waits until it is committed (or failed).
    pub(super) async fn execute(&self, op: WriteOp) -> Result<WriteOutcome, StoreError> {
        let (reply, answer) = Reply::new();
        self.queue
            .send_timeout(Message::Op(op, reply, Instant::now()), self.enqueue_timeout)
            .await
            .map_err(|e| match e {
                mpsc::error::SendTimeoutError::Timeout(_) => {
                    StoreError::Unavailable("the write queue is full".into())
                }
                mpsc::error::SendTimeoutError::Closed(_) => {
                    StoreError::Unavailable("the writer has stopped".into())
                }
            })?;
        answer
            .await
            .map_err(|_| StoreError::internal("the writer dropped a request"))?
    }

    /// Lets queued ops finish, then stops the thread and waits for it.
    pub(super) fn stop(&self) {
        let Some(thread) = self.thread.lock().ok().and_then(|mut slot| slot.take()) else {
            return;
        };
        // `blocking_send` must not run on an async worker; stop() is called
        // after the server has stopped, from plain code.
        if self.queue.blocking_send(Message::Stop).is_ok() {
            let _ = thread.join();
        }
    }
}

fn run(
    conn: Connection,
    mut inbox: mpsc::Receiver<Message>,
    activity: &WalActivity,
    metrics: &StorageMetrics,
    cache: Option<&UserCache>,
    mut keys: KeySweep,
) {
    lower_priority();
    let mut batch: Vec<(WriteOp, Reply)> = Vec::with_capacity(MAX_BATCH);
    let mut search = Upkeep::new();
    // Only to wait for a write with a timeout while users wait for the
    // search index; a failure to build it leaves them to the next batch.
    let clock = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .inspect_err(|e| log::warn!("the writer has no clock: {e}"))
        .ok();
    let mut stopping = false;
    while !stopping {
        let next = match (&clock, search.is_due()) {
            (Some(clock), true) => {
                let timed = async { tokio::time::timeout(Upkeep::PAUSE, inbox.recv()).await };
                match clock.block_on(timed) {
                    Ok(next) => next,
                    Err(_) => {
                        // Writes paused: index what waits.
                        if search.index(&conn) {
                            activity.committed();
                            activity.catch_up(&conn);
                        }
                        continue;
                    }
                }
            }
            _ => inbox.blocking_recv(),
        };
        let Some(first) = next else {
            break;
        };
        let started = Instant::now();
        let mut oldest = Duration::ZERO;
        for message in std::iter::once(first).chain(std::iter::from_fn(|| inbox.try_recv().ok())) {
            match message {
                Message::Op(op, reply, queued) => {
                    let waited = started.saturating_duration_since(queued);
                    metrics.queue_wait_seconds.observe(waited.as_secs_f64());
                    oldest = oldest.max(waited);
                    batch.push((op, reply));
                }
                Message::Stop => {
                    stopping = true;
                    break;
                }
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
        }
        if !batch.is_empty() {
            log::debug!(
                "starting a batch of {}; its oldest write waited {} us",
                batch.len(),
                oldest.as_micros()
            );
            let writes = batch.len();
            commit_batch_or_recover(&conn, &mut batch, metrics, cache);
            search.wrote(&conn, writes);
            keys.run_if_due(&conn);
            activity.committed();
            activity.catch_up(&conn);
        }
    }
    // Leave nothing for the next start to index.
    search.index(&conn);
    // Leave a compact file behind: fold the WAL into the database.
    activity.close(&conn);
    if let Err((_, e)) = conn.close() {
        log::warn!("closing the database failed: {e}");
    }
}

/// Runs this thread (Linux: nice is per thread) a little below the HTTP
/// workers. The writer shares the CPU with the workers that parse requests;
/// at their priority the scheduler runs it the moment a write arrives, so
/// under load it commits batches of two or three writes and each pays a
/// whole commit, fsync included (about 160 µs of CPU per commit in the
/// measured 90/10 mix). A little lower, it runs once the workers have no
/// more to do or their time slice ends, so the writes that arrived meanwhile
/// share one commit; with no competition for the CPU it still runs at once.
/// Measured in BENCHMARKS.md. Not being allowed to is not an error.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, WRITER_NICE) {
        log::debug!("could not lower the writer thread's priority: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, NewUser, Timestamp, User, UserName};
    use crate::storage::sqlite::anchor::ReadAnchor;
    use crate::storage::sqlite::connection::{open_writer, Durability};
    use crate::storage::sqlite::migrate;

    fn create(n: usize) -> WriteOp {
        WriteOp::Create(User::create(
            NewUser {
                email: Email::parse(&format!("q{n}@example.com")).unwrap(),
                name: UserName::parse("Q").unwrap(),
            },
            Timestamp::now(),
        ))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_answers_unavailable_instead_of_piling_up_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.db");
        let mut conn = open_writer(&path, Durability::Full).unwrap();
        migrate::apply(&mut conn).unwrap();
        let writer = Writer::start_with(
            conn,
            Arc::new(WalActivity::new(ReadAnchor::open(&path))),
            StorageMetrics::new(),
            None,
            (2, Duration::from_millis(200)),
            crate::storage::DEFAULT_KEY_TTL,
        )
        .unwrap();

        // Another connection holds the write lock, so the writer stalls on
        // its first batch and the queue behind it fills up.
        let blocker = rusqlite::Connection::open(&path).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let mut pending = Vec::new();
        for n in 0..3 {
            let writer = writer.clone();
            pending.push(tokio::spawn(async move { writer.execute(create(n)).await }));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let started = Instant::now();
        let refused = writer.execute(create(99)).await;
        assert!(
            matches!(&refused, Err(StoreError::Unavailable(reason)) if reason.contains("queue is full")),
            "{refused:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "refused promptly"
        );

        blocker.execute_batch("COMMIT").unwrap();
        for op in pending {
            assert!(
                op.await.unwrap().is_ok(),
                "queued writes complete once the lock is free"
            );
        }
        let stored: i64 = blocker
            .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
            .unwrap();
        assert_eq!(stored, 3);
        let stopping = writer.clone();
        tokio::task::spawn_blocking(move || stopping.stop())
            .await
            .unwrap();
    }

    /// A thread's name and nice value from its `/proc/.../stat` (field 19).
    #[cfg(target_os = "linux")]
    fn name_and_nice(stat: &std::path::Path) -> Option<(String, i32)> {
        let stat = std::fs::read_to_string(stat).ok()?;
        let (head, tail) = stat.rsplit_once(')')?;
        let name = head.split_once('(')?.1.to_owned();
        Some((name, tail.split_whitespace().nth(16)?.parse().ok()?))
    }

    /// The nice value of every thread of this process named `name`.
    #[cfg(target_os = "linux")]
    fn nice_of_threads(name: &str) -> Vec<i32> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter_map(|task| name_and_nice(&task.path().join("stat")))
            .filter(|(thread, _)| thread == name)
            .map(|(_, nice)| nice)
            .collect()
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_thread_runs_below_the_threads_that_queue_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_writer(&dir.path().join("users.db"), Durability::Full).unwrap();
        migrate::apply(&mut conn).unwrap();
        let activity = Arc::new(WalActivity::new(ReadAnchor::none()));
        let writer = Writer::start(
            conn,
            activity,
            StorageMetrics::new(),
            None,
            crate::storage::DEFAULT_KEY_TTL,
        )
        .unwrap();
        // Answered, so the thread is past its start.
        writer.execute(WriteOp::Probe).await.unwrap();
        // Writers that other tests start at the same moment may not have
        // lowered themselves yet; every one must within a moment.
        let mut writers = nice_of_threads("sqlite-writer");
        for _ in 0..100 {
            if writers.iter().all(|n| *n == WRITER_NICE) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            writers = nice_of_threads("sqlite-writer");
        }
        assert!(!writers.is_empty());
        assert!(writers.iter().all(|n| *n == WRITER_NICE), "{writers:?}");
        let (_, here) = name_and_nice(std::path::Path::new("/proc/thread-self/stat")).unwrap();
        assert!(
            here < WRITER_NICE,
            "this thread {here}, the writer {WRITER_NICE}"
        );
        let stopping = writer.clone();
        tokio::task::spawn_blocking(move || stopping.stop())
            .await
            .unwrap();
    }
}
