//! Log output on stderr. When stderr is not a terminal (a file, a pipe,
//! journald), lines at `info` and below — the request log among them — are
//! collected and written together [`FLUSH_DELAY`] after the first of them;
//! a warning or an error is written at once, after whatever is waiting, so
//! the order of lines holds. On a terminal every line is written at once, by
//! env_logger (with colours).
//!
//! Why: at the default level every request logs a line. Measured with
//! stderr to a file, the request log cost a quarter to a third of the GET
//! rate (84k req/s at `warn`, 55-64k at `info`), and its own `write` per
//! line about a tenth of that rate (62.3k -> 68.1k once batched;
//! BENCHMARKS.md). Off a terminal the lines are also formatted here rather
//! than by env_logger, which (with colour support built in) copies every
//! line into a fresh buffer and scans it for escape codes to strip: 3-5 % of
//! the GET profile. A crash (`kill -9`) can lose the last [`FLUSH_DELAY`] of
//! `info` lines, never a warning or error; a clean exit writes everything
//! (`log::logger().flush()`).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use log::{Level, Log, Metadata, Record};

use crate::config::LogFormat;

/// How long a batch of lines waits for more before it is written.
pub const FLUSH_DELAY: Duration = Duration::from_millis(20);
/// Past this many bytes waiting, the line that crossed it writes them all.
const MAX_PENDING: usize = 256 * 1024;

/// `RUST_LOG` filters (default `default_level`); `--log-format json` writes
/// one JSON object per line: `ts`, `level`, `target`, `msg`. Text lines read
/// `[2026-11-26T17:52:36Z INFO  target] message`.
pub fn init(format: LogFormat, default_level: &str) {
    let env = env_logger::Env::default().default_filter_or(default_level);
    let mut builder = env_logger::Builder::from_env(env);
    if !io::stderr().is_terminal() {
        let logger = LineLogger {
            filter: builder.build(),
            format,
            pending: Pending::start(Box::new(io::stderr())),
        };
        let max_level = logger.filter.filter();
        if log::set_boxed_logger(Box::new(logger)).is_ok() {
            log::set_max_level(max_level);
        }
        return;
    }
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            let mut line = String::new();
            json_line(&mut line, SystemTime::now(), record);
            buf.write_all(line.as_bytes())
        });
    }
    builder.init();
}

/// Formats lines itself and hands them to [`Pending`]: warnings and errors
/// to go out at once, the rest in batches. `filter` is env_logger's, built
/// from `RUST_LOG`; only its filter is used.
struct LineLogger {
    filter: env_logger::Logger,
    format: LogFormat,
    pending: Arc<Pending>,
}

thread_local! {
    /// The line being formatted, reused: no allocation per line.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
    /// The last second formatted for text lines, and its text.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

impl Log for LineLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.filter.matches(record) {
            return;
        }
        let now = SystemTime::now();
        LINE.with(|line| {
            let Ok(mut line) = line.try_borrow_mut() else {
                // Logging from inside a line's own formatting: skip it.
                return;
            };
            line.clear();
            match self.format {
                LogFormat::Text => text_line(&mut line, now, record),
                LogFormat::Json => json_line(&mut line, now, record),
            }
            let urgent = record.level() <= Level::Warn;
            let _ = self.pending.add(line.as_bytes(), urgent);
        });
    }

    /// Writes every line still waiting; `main` calls it before exiting.
    fn flush(&self) {
        let _ = self.pending.write_out();
    }
}

/// `[2026-11-26T17:52:36Z INFO  target] message`, as env_logger writes it.
fn text_line(line: &mut String, now: SystemTime, record: &Record<'_>) {
    line.push('[');
    let second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            let at = time::OffsetDateTime::from(now);
            cached.1.clear();
            let _ = write!(
                cached.1,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            );
            cached.0 = second;
        }
        line.push_str(&cached.1);
    });
    let _ = writeln!(
        line,
        " {:<5} {}] {}",
        record.level().as_str(),
        record.target(),
        record.args()
    );
}

/// One JSON object: `ts` (RFC 3339, microseconds), `level`, `target`, `msg`.
fn json_line(line: &mut String, now: SystemTime, record: &Record<'_>) {
    let at = time::OffsetDateTime::from(now);
    let ts = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    );
    let value = serde_json::json!({
        "ts": ts,
        "level": record.level().as_str(),
        "target": record.target(),
        "msg": record.args().to_string(),
    });
    let _ = writeln!(line, "{value}");
}

/// Lines waiting to be written, and where they go.
struct Pending {
    lines: Mutex<Vec<u8>>,
    /// Taken before `lines` by whoever writes out, so batches keep their order.
    out: Mutex<Box<dyn Write + Send>>,
    arrived: Condvar,
    /// A thread writes batches out; if not, every line is written at once.
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

    /// Adds a whole line. It (and all before it) is written now if `urgent`,
    /// if too much waits, or if no thread writes batches; otherwise it waits
    /// for the batch.
    fn add(&self, line: &[u8], urgent: bool) -> io::Result<()> {
        let mut lines = self.lines();
        if lines.is_empty() {
            self.arrived.notify_one();
        }
        lines.extend_from_slice(line);
        let now = urgent || lines.len() >= MAX_PENDING || !self.batching.load(Ordering::Relaxed);
        drop(lines);
        match now {
            true => self.write_out(),
            false => Ok(()),
        }
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
        let started = std::time::Instant::now();
        for n in 0..100 {
            pending
                .add(format!("line {n}\n").as_bytes(), false)
                .unwrap();
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
        pending.add(b"request 1\n", false).unwrap();
        pending.add(b"request 2\n", false).unwrap();
        assert_eq!(sink.text(), "");
        pending.add(b"WARN disk almost full\n", true).unwrap();
        assert_eq!(sink.text(), "request 1\nrequest 2\nWARN disk almost full\n");
    }

    #[test]
    fn a_flood_of_lines_is_written_by_the_logger_once_too_much_waits() {
        let sink = Sink::default();
        let pending = sink.batched_by_hand();
        let mut line = [b'x'; 1024];
        line[1023] = b'\n';
        for _ in 0..MAX_PENDING / 1024 {
            pending.add(&line, false).unwrap();
        }
        assert!(!sink.text().is_empty());
        assert_eq!(sink.0.lock().unwrap().len(), MAX_PENDING);
        assert!(pending.lines().is_empty());
    }

    fn formatted(
        format: fn(&mut String, SystemTime, &Record<'_>),
        at: SystemTime,
        level: Level,
    ) -> String {
        let mut line = String::new();
        let args = format_args!("GET /users/\"x\" 200");
        let record = Record::builder()
            .level(level)
            .target("actix_web::middleware::logger")
            .args(args)
            .build();
        format(&mut line, at, &record);
        line
    }

    #[test]
    fn a_text_line_reads_as_env_logger_writes_it() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            formatted(text_line, at, Level::Info),
            "[2023-11-14T22:13:20Z INFO  actix_web::middleware::logger] GET /users/\"x\" 200\n"
        );
        // The cached second is replaced when the clock moves on.
        let later = at + Duration::from_millis(61_500);
        assert_eq!(
            formatted(text_line, later, Level::Error),
            "[2023-11-14T22:14:21Z ERROR actix_web::middleware::logger] GET /users/\"x\" 200\n"
        );
    }

    #[test]
    fn a_json_line_is_one_object_with_a_microsecond_timestamp() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_042);
        let line = formatted(json_line, at, Level::Warn);
        assert!(
            line.ends_with('\n') && line.lines().count() == 1,
            "{line:?}"
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "ts": "2023-11-14T22:13:20.000042Z",
                "level": "WARN",
                "target": "actix_web::middleware::logger",
                "msg": "GET /users/\"x\" 200",
            })
        );
    }

    #[test]
    fn without_a_flusher_thread_every_line_is_written_at_once() {
        let sink = Sink::default();
        let pending = Pending::new(Box::new(sink.clone()));
        pending.add(b"request 1\n", false).unwrap();
        assert_eq!(sink.text(), "request 1\n");
    }
}
