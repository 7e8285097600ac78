//! Log output on stderr. When stderr is not a terminal (a file, a pipe,
//! journald), lines at `info` and below — the request log among them — are
//! collected and written together [`FLUSH_DELAY`] after the first of them;
//! a warning or an error is written at once, after whatever is waiting, so
//! the order of lines holds. On a terminal every line is written at once.
//!
//! Why: at the default level every request logs a line. Measured with
//! stderr to a file, the request log cost a quarter to a third of the GET
//! rate (84k req/s at `warn`, 55-64k at `info`), and its own `write` per
//! line about a tenth of that rate (62.3k -> 68.1k once batched;
//! BENCHMARKS.md). A crash (`kill -9`) can lose the last [`FLUSH_DELAY`] of
//! `info` lines, never a warning or error; a clean exit writes everything
//! (`log::logger().flush()`).

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use log::{Level, Log, Metadata, Record};

use crate::config::LogFormat;

/// How long a batch of lines waits for more before it is written.
pub const FLUSH_DELAY: Duration = Duration::from_millis(20);
/// Past this many bytes waiting, the line that crossed it writes them all.
const MAX_PENDING: usize = 256 * 1024;

/// `RUST_LOG` filters (default `default_level`); `--log-format json` writes
/// one JSON object per line: `ts`, `level`, `target`, `msg`.
pub fn init(format: LogFormat, default_level: &str) {
    let builder = |target: Option<env_logger::Target>| {
        let env = env_logger::Env::default().default_filter_or(default_level);
        let mut builder = env_logger::Builder::from_env(env);
        if let Some(target) = target {
            builder.target(target);
        }
        if format == LogFormat::Json {
            builder.format(|buf, record| {
                let line = serde_json::json!({
                    "ts": buf.timestamp_micros().to_string(),
                    "level": record.level().as_str(),
                    "target": record.target(),
                    "msg": record.args().to_string(),
                });
                writeln!(buf, "{line}")
            });
        }
        builder
    };
    if io::stderr().is_terminal() {
        builder(None).init();
        return;
    }
    let pending = Pending::start(Box::new(io::stderr()));
    let pipe = |writer: Box<dyn Write + Send>| builder(Some(env_logger::Target::Pipe(writer)));
    let logger = SplitLogger {
        batched: pipe(Box::new(Batched(Arc::clone(&pending)))).build(),
        immediate: pipe(Box::new(Immediate(Arc::clone(&pending)))).build(),
        pending,
    };
    let max_level = logger.batched.filter();
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(max_level);
    }
}

/// Warnings and errors go out at once; the rest in batches.
struct SplitLogger {
    batched: env_logger::Logger,
    immediate: env_logger::Logger,
    pending: Arc<Pending>,
}

impl Log for SplitLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.batched.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        match record.level() <= Level::Warn {
            true => self.immediate.log(record),
            false => self.batched.log(record),
        }
    }

    /// Writes every line still waiting; `main` calls it before exiting.
    fn flush(&self) {
        let _ = self.pending.write_out();
    }
}

/// Lines waiting to be written, and where they go.
struct Pending {
    lines: Mutex<Vec<u8>>,
    /// Taken before `lines` by whoever writes out, so batches keep their order.
    out: Mutex<Box<dyn Write + Send>>,
    arrived: Condvar,
    /// A thread writes batches out; if not, [`Batched`] writes each line.
    batching: AtomicBool,
}

impl Pending {
    /// Lines for `out`, written when someone calls [`Self::write_out`].
    fn new(out: Box<dyn Write + Send>) -> Arc<Self> {
        Arc::new(Self {
            lines: Mutex::new(Vec::new()),
            out: Mutex::new(out),
            arrived: Condvar::new(),
            batching: AtomicBool::new(false),
        })
    }

    /// Lines for `out`, and a thread that writes each batch out
    /// [`FLUSH_DELAY`] after its first line (without one, every line is
    /// written at once).
    fn start(out: Box<dyn Write + Send>) -> Arc<Self> {
        let pending = Self::new(out);
        let flusher = Arc::clone(&pending);
        let started = std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || loop {
                flusher.wait_for_lines();
                std::thread::sleep(FLUSH_DELAY);
                let _ = flusher.write_out();
            });
        pending.batching.store(started.is_ok(), Ordering::Relaxed);
        pending
    }

    fn lines(&self) -> MutexGuard<'_, Vec<u8>> {
        // Nothing panics while holding it; the bytes are whole lines.
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait_for_lines(&self) {
        let mut lines = self.lines();
        while lines.is_empty() {
            lines = self.arrived.wait(lines).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Adds a line; says whether that many bytes now wait that they should
    /// be written by the caller.
    fn push(&self, line: &[u8]) -> bool {
        let mut lines = self.lines();
        if lines.is_empty() {
            self.arrived.notify_one();
        }
        lines.extend_from_slice(line);
        lines.len() >= MAX_PENDING
    }

    fn write_out(&self) -> io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let lines = std::mem::take(&mut *self.lines());
        if lines.is_empty() {
            return Ok(());
        }
        out.write_all(&lines)?;
        out.flush()
    }
}

/// env_logger's output for `info` and below.
struct Batched(Arc<Pending>);

impl Write for Batched {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        if self.0.push(line) || !self.0.batching.load(Ordering::Relaxed) {
            self.0.write_out()?;
        }
        Ok(line.len())
    }

    /// env_logger flushes after every line; the batch waits instead.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// env_logger's output for warnings and errors.
struct Immediate(Arc<Pending>);

impl Write for Immediate {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.0.push(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.write_out()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what is written, shared with the test.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }

        /// Batching into this sink, with no flusher thread: only a write
        /// that must go out now reaches it.
        fn batched_by_hand(&self) -> Arc<Pending> {
            let pending = Pending::new(Box::new(self.clone()));
            pending.batching.store(true, Ordering::Relaxed);
            pending
        }
    }

    #[test]
    fn info_lines_wait_for_the_batch_and_then_all_go_out_in_order() {
        let sink = Sink::default();
        let pending = Pending::start(Box::new(sink.clone()));
        let mut batched = Batched(Arc::clone(&pending));
        let started = std::time::Instant::now();
        for n in 0..100 {
            writeln!(batched, "line {n}").unwrap();
            batched.flush().unwrap();
        }
        if started.elapsed() < FLUSH_DELAY / 2 {
            assert_eq!(sink.text(), "", "written before the batch was due");
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.text().lines().count() < 100 {
            assert!(std::time::Instant::now() < deadline, "batch never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        let expected: String = (0..100).map(|n| format!("line {n}\n")).collect();
        assert_eq!(sink.text(), expected);
    }

    #[test]
    fn a_warning_goes_out_at_once_after_the_lines_before_it() {
        let sink = Sink::default();
        let pending = sink.batched_by_hand();
        let mut batched = Batched(Arc::clone(&pending));
        let mut immediate = Immediate(Arc::clone(&pending));
        writeln!(batched, "request 1").unwrap();
        writeln!(batched, "request 2").unwrap();
        assert_eq!(sink.text(), "");
        writeln!(immediate, "WARN disk almost full").unwrap();
        immediate.flush().unwrap();
        assert_eq!(sink.text(), "request 1\nrequest 2\nWARN disk almost full\n");
    }

    #[test]
    fn a_flood_of_lines_is_written_by_the_logger_once_too_much_waits() {
        let sink = Sink::default();
        let pending = sink.batched_by_hand();
        let mut batched = Batched(Arc::clone(&pending));
        let line = [b'x'; 1023];
        for _ in 0..MAX_PENDING / 1024 {
            batched.write_all(&line).unwrap();
            batched.write_all(b"\n").unwrap();
        }
        assert!(!sink.text().is_empty());
        assert_eq!(sink.0.lock().unwrap().len(), MAX_PENDING);
        assert!(pending.lines().is_empty());
    }

    #[test]
    fn without_a_flusher_thread_every_line_is_written_at_once() {
        let sink = Sink::default();
        let mut batched = Batched(Pending::new(Box::new(sink.clone())));
        writeln!(batched, "request 1").unwrap();
        assert_eq!(sink.text(), "request 1\n");
    }
}
