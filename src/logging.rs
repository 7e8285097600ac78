//! Log output on stderr. Lines at `info` and below — the request log among
//! them — are collected and written together [`FLUSH_DELAY`] after the
//! first of them; a warning or an error is written at once, after whatever
//! is waiting, so the order of lines holds. One thread does the writing, so
//! a request never waits for stderr: if nobody reads it (a full pipe, a
//! terminal paused or too slow to scroll), lines wait in memory up to
//! [`MAX_PENDING`] bytes, and past that they are dropped and counted in a
//! warning written once the reader catches up. On a terminal the level is
//! in colour.
//!
//! Why: at the default level every request logs a line. Measured with
//! stderr to a file, the request log cost a quarter to a third of the GET
//! rate (84k req/s at `warn`, 55-64k at `info`), and its own `write` per
//! line about a tenth of that rate (62.3k -> 68.1k once batched;
//! BENCHMARKS.md). The lines are formatted here, not by env_logger (kept
//! for its `RUST_LOG` filter), which with colour support built in copies
//! every line into a fresh buffer and scans it for escape codes to strip:
//! 3-5 % of the GET profile. And a server started with its stderr piped to
//! a process that does not read it (a test harness, a stuck log shipper)
//! used to stop answering once the pipe filled; now it keeps serving.
//!
//! A crash (`kill -9`) can lose the last [`FLUSH_DELAY`] of `info` lines,
//! and a warning logged in the instant before it; a clean exit waits (at
//! most [`EXIT_WAIT`]) for everything (`log::logger().flush()`).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use log::{Level, Log, Metadata, Record};

use crate::domain::Timestamp;

/// How lines are written: plain text, or one JSON object per line for log
/// shippers (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// How long a batch of lines waits for more before it is written.
pub const FLUSH_DELAY: Duration = Duration::from_millis(20);
/// With this many bytes waiting, the batch is written without waiting
/// (~20 ms of request lines at 60k req/s).
const WRITE_NOW_BYTES: usize = 256 * 1024;
/// Lines that would take more than this waiting are dropped (and counted):
/// stderr is not being read. Bounds the memory a stuck reader can take.
const MAX_PENDING: usize = 4 * 1024 * 1024;
/// How long a clean exit waits for the last lines to be written.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// `RUST_LOG` filters (default `default_level`); `--log-format json` writes
/// one JSON object per line: `ts`, `level`, `target`, `msg`. Text lines read
/// `[2026-11-26T17:52:36Z INFO  target] message`, the level in colour on a
/// terminal (not with `NO_COLOR` set or `RUST_LOG_STYLE=never`; always with
/// `RUST_LOG_STYLE=always`).
pub fn init(format: LogFormat, default_level: &str) {
    let env = env_logger::Env::default().default_filter_or(default_level);
    let format: LineFormat = match format {
        LogFormat::Json => json_line,
        LogFormat::Text if in_colour() => coloured_text_line,
        LogFormat::Text => text_line,
    };
    let logger = LineLogger {
        filter: env_logger::Builder::from_env(env).build(),
        format,
        pending: Pending::start(Box::new(io::stderr()), format),
    };
    let max_level = logger.filter.filter();
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(max_level);
    }
}

/// Whether text lines get colour: env_logger's and the NO_COLOR
/// convention's rules.
fn in_colour() -> bool {
    match std::env::var("RUST_LOG_STYLE").as_deref() {
        Ok("always") => true,
        Ok("never") => false,
        _ => {
            io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Formats lines itself and hands them to [`Pending`]: warnings and errors
/// to go out at once, the rest in batches. `filter` is env_logger's, built
/// from `RUST_LOG`; only its filter is used.
struct LineLogger {
    filter: env_logger::Logger,
    format: LineFormat,
    pending: Arc<Pending>,
}

/// Writes one record as one line ([`text_line`] or [`json_line`]).
type LineFormat = fn(&mut String, SystemTime, &Record<'_>);

thread_local! {
    /// The line being formatted, reused: no allocation per line.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
    /// The last second formatted for text lines, and its text.
    static SECOND: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
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
            (self.format)(&mut line, now, record);
            let urgent = record.level() <= Level::Warn;
            let _ = self.pending.add(line.as_bytes(), urgent);
            // One huge message must not pin its buffer for good.
            if line.capacity() > 64 * 1024 {
                *line = String::new();
            }
        });
    }

    /// Waits (a bounded time) for every line still waiting to be written;
    /// `main` calls it before exiting.
    fn flush(&self) {
        self.pending.drain(EXIT_WAIT);
    }
}

/// `[2026-11-26T17:52:36Z INFO  target] message`, as env_logger writes it.
fn text_line(line: &mut String, now: SystemTime, record: &Record<'_>) {
    styled_text_line(line, now, record, false);
}

/// The same, coloured as env_logger colours it.
fn coloured_text_line(line: &mut String, now: SystemTime, record: &Record<'_>) {
    styled_text_line(line, now, record, true);
}

fn styled_text_line(line: &mut String, now: SystemTime, record: &Record<'_>, colour: bool) {
    const DIM: &str = "\x1b[2m";
    const RESET: &str = "\x1b[0m";
    let (open, close) = match colour {
        true => (DIM, RESET),
        false => ("", ""),
    };
    let _ = write!(line, "{open}[{close}");
    let stamp = Timestamp::from(now);
    let second = stamp.unix_micros().div_euclid(1_000_000);
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            // env_logger's text lines give whole seconds.
            let text = stamp.to_string();
            cached.1.clear();
            cached.1.push_str(text.split('.').next().unwrap_or(&text));
            cached.1.push('Z');
            cached.0 = second;
        }
        line.push_str(&cached.1);
    });
    let level = record.level();
    let (paint, unpaint) = match (colour, level) {
        (false, _) => ("", ""),
        (true, Level::Error) => ("\x1b[1;31m", RESET),
        (true, Level::Warn) => ("\x1b[33m", RESET),
        (true, Level::Info) => ("\x1b[32m", RESET),
        (true, Level::Debug) => ("\x1b[34m", RESET),
        (true, Level::Trace) => ("\x1b[36m", RESET),
    };
    let _ = writeln!(
        line,
        " {paint}{:<5}{unpaint} {}{open}]{close} {}",
        level.as_str(),
        record.target(),
        record.args()
    );
}

/// One JSON object: `ts` (RFC 3339, microseconds), `level`, `target`, `msg`.
fn json_line(line: &mut String, now: SystemTime, record: &Record<'_>) {
    let ts = Timestamp::from(now).to_string();
    let value = serde_json::json!({
        "ts": ts,
        "level": record.level().as_str(),
        "target": record.target(),
        "msg": record.args().to_string(),
    });
    let _ = writeln!(line, "{value}");
}

/// Lines waiting to be written, and where they go. Off a terminal only the
/// flusher thread writes: a thread that logs never waits for stderr.
struct Pending {
    state: Mutex<State>,
    /// Taken by whoever writes, so batches keep their order.
    out: Mutex<Box<dyn Write + Send>>,
    arrived: Condvar,
    /// How long a batch of `info` lines waits for more.
    delay: Duration,
    /// How the flusher writes its own line (about dropped lines).
    format: LineFormat,
    /// A thread writes batches out; if not, every line is written at once.
    batching: AtomicBool,
}

#[derive(Default)]
struct State {
    lines: Vec<u8>,
    /// A warning or error waits, or enough lines: write without waiting.
    now: bool,
    /// Lines dropped because [`MAX_PENDING`] bytes were already waiting.
    dropped: u64,
}

impl Pending {
    /// Lines for `out`, each written at once by the thread that logs it
    /// (until a flusher thread is started).
    fn new(out: Box<dyn Write + Send>, format: LineFormat, delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            out: Mutex::new(out),
            arrived: Condvar::new(),
            delay,
            format,
            batching: AtomicBool::new(false),
        })
    }

    /// Lines for `out`, and the thread that writes them: each batch of
    /// `info` lines [`FLUSH_DELAY`] after its first line, warnings and
    /// errors (and everything before them) at once.
    fn start(out: Box<dyn Write + Send>, format: LineFormat) -> Arc<Self> {
        Self::start_with(out, format, FLUSH_DELAY)
    }

    fn start_with(out: Box<dyn Write + Send>, format: LineFormat, delay: Duration) -> Arc<Self> {
        let pending = Self::new(out, format, delay);
        let flusher = Arc::clone(&pending);
        let started = std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || flusher.write_batches());
        pending.batching.store(started.is_ok(), Ordering::Relaxed);
        pending
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding it; the bytes are whole lines.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn out(&self) -> MutexGuard<'_, Box<dyn Write + Send>> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a whole line, written at once if `urgent`, else with its batch.
    /// Never waits for the output: past [`MAX_PENDING`] bytes waiting (a
    /// reader that stopped reading stderr) the line is dropped and counted.
    fn add(&self, line: &[u8], urgent: bool) -> io::Result<()> {
        if !self.batching.load(Ordering::Relaxed) {
            let mut out = self.out();
            out.write_all(line)?;
            return out.flush();
        }
        let mut state = self.state();
        if state.lines.len() + line.len() > MAX_PENDING {
            state.dropped += 1;
            return Ok(());
        }
        let first = state.lines.is_empty();
        state.lines.extend_from_slice(line);
        let now = urgent || state.lines.len() >= WRITE_NOW_BYTES;
        if now && !state.now {
            state.now = true;
            self.arrived.notify_one();
        } else if first {
            self.arrived.notify_one();
        }
        Ok(())
    }

    /// The flusher thread's loop.
    fn write_batches(&self) {
        let mut batch = Vec::new();
        loop {
            let mut state = self.state();
            while state.lines.is_empty() && state.dropped == 0 {
                state = self.arrived.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            let due = Instant::now() + self.delay;
            while !state.now {
                let left = due.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                state = self
                    .arrived
                    .wait_timeout(state, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            // Taken before the lines leave `state`, so `drain` cannot see
            // them neither waiting nor being written.
            let mut out = self.out();
            std::mem::swap(&mut state.lines, &mut batch);
            let dropped = std::mem::take(&mut state.dropped);
            state.now = false;
            drop(state);
            if dropped > 0 {
                let mut notice = String::new();
                let args =
                    format_args!("{dropped} log lines dropped: stderr was not read fast enough");
                let record = Record::builder()
                    .level(Level::Warn)
                    .target(module_path!())
                    .args(args)
                    .build();
                (self.format)(&mut notice, SystemTime::now(), &record);
                batch.extend_from_slice(notice.as_bytes());
            }
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            drop(out);
            batch.clear();
        }
    }

    /// Waits (at most `limit`) until every line added so far is written.
    fn drain(&self, limit: Duration) {
        if !self.batching.load(Ordering::Relaxed) {
            return;
        }
        let give_up = Instant::now() + limit;
        loop {
            {
                let mut state = self.state();
                if state.lines.is_empty() && state.dropped == 0 {
                    // Not held by the flusher: nothing is being written.
                    if self.out.try_lock().is_ok() {
                        return;
                    }
                } else if !state.now {
                    state.now = true;
                    self.arrived.notify_one();
                }
            }
            if Instant::now() >= give_up {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
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

        /// Waits (at most 5 s) until the sink holds `lines` lines.
        fn wait_for(&self, lines: usize) -> String {
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.text().lines().count() < lines {
                assert!(Instant::now() < deadline, "only:\n{}", self.text());
                std::thread::sleep(Duration::from_millis(2));
            }
            self.text()
        }
    }

    /// A sink whose writes wait until the test opens it: stderr that
    /// nobody reads.
    #[derive(Clone)]
    struct Stuck {
        open: Arc<(Mutex<bool>, Condvar)>,
        sink: Sink,
    }

    impl Write for Stuck {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let (open, opened) = &*self.open;
            let mut open = open.lock().unwrap();
            while !*open {
                open = opened.wait(open).unwrap();
            }
            self.sink.write(bytes)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Stuck {
        fn new() -> Self {
            Self {
                open: Arc::new((Mutex::new(false), Condvar::new())),
                sink: Sink::default(),
            }
        }

        fn open(&self) {
            *self.open.0.lock().unwrap() = true;
            self.open.1.notify_all();
        }
    }

    #[test]
    fn info_lines_wait_for_the_batch_and_then_all_go_out_in_order() {
        let sink = Sink::default();
        // A batch that waits a minute: nothing may be written before it is
        // due, however slow this machine is.
        let pending =
            Pending::start_with(Box::new(sink.clone()), text_line, Duration::from_secs(60));
        for n in 0..100 {
            pending
                .add(format!("line {n}\n").as_bytes(), false)
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(sink.text(), "", "written before the batch was due");
        pending.drain(Duration::from_secs(10));
        let expected: String = (0..100).map(|n| format!("line {n}\n")).collect();
        assert_eq!(sink.text(), expected);
    }

    #[test]
    fn info_lines_go_out_after_the_default_batch_delay() {
        let sink = Sink::default();
        let pending = Pending::start(Box::new(sink.clone()), text_line);
        for n in 0..100 {
            pending
                .add(format!("line {n}\n").as_bytes(), false)
                .unwrap();
        }
        let expected: String = (0..100).map(|n| format!("line {n}\n")).collect();
        assert_eq!(sink.wait_for(100), expected);
    }

    #[test]
    fn a_warning_goes_out_without_waiting_for_the_batch_after_the_lines_before_it() {
        let sink = Sink::default();
        // A batch would wait a minute; the warning must not.
        let pending =
            Pending::start_with(Box::new(sink.clone()), text_line, Duration::from_secs(60));
        pending.add(b"request 1\n", false).unwrap();
        pending.add(b"request 2\n", false).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(sink.text(), "");
        pending.add(b"WARN disk almost full\n", true).unwrap();
        assert_eq!(
            sink.wait_for(3),
            "request 1\nrequest 2\nWARN disk almost full\n"
        );
    }

    #[test]
    fn a_large_batch_goes_out_without_waiting() {
        let sink = Sink::default();
        let pending =
            Pending::start_with(Box::new(sink.clone()), text_line, Duration::from_secs(60));
        let mut line = [b'x'; 1024];
        line[1023] = b'\n';
        for _ in 0..WRITE_NOW_BYTES / 1024 {
            pending.add(&line, false).unwrap();
        }
        assert_eq!(sink.wait_for(WRITE_NOW_BYTES / 1024).len(), WRITE_NOW_BYTES);
    }

    #[test]
    fn a_reader_that_stops_reading_never_stalls_a_logging_thread() {
        let stuck = Stuck::new();
        let pending = Pending::start_with(Box::new(stuck.clone()), text_line, Duration::ZERO);
        let mut line = [b'x'; 1024];
        line[1023] = b'\n';
        // The first batch blocks the flusher in `write`; then the buffer
        // fills and the rest are dropped, all without blocking this thread.
        let started = Instant::now();
        let lines = 2 * MAX_PENDING / 1024;
        for _ in 0..lines {
            pending.add(&line, true).unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(2));
        // A clean exit gives up on it after its time limit.
        let started = Instant::now();
        pending.drain(Duration::from_millis(100));
        assert!(started.elapsed() < Duration::from_secs(2));

        stuck.open();
        let text = stuck.sink.wait_for(MAX_PENDING / 1024 + 1);
        let written = text.lines().filter(|l| l.starts_with('x')).count();
        let dropped = lines - written;
        assert!(written >= MAX_PENDING / 1024, "{written}");
        assert!(
            text.lines().any(|l| l.contains(&format!(
                "WARN  user_service::logging] {dropped} log lines dropped"
            ))),
            "{dropped} dropped, but: {:?}",
            text.lines()
                .filter(|l| !l.starts_with('x'))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_clean_exit_waits_for_the_lines_still_waiting() {
        let sink = Sink::default();
        let pending =
            Pending::start_with(Box::new(sink.clone()), text_line, Duration::from_secs(60));
        for n in 0..10 {
            pending
                .add(format!("line {n}\n").as_bytes(), false)
                .unwrap();
        }
        pending.drain(Duration::from_secs(5));
        assert_eq!(sink.text().lines().count(), 10);
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
    fn a_coloured_line_is_the_text_line_with_the_level_painted() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let coloured = formatted(coloured_text_line, at, Level::Info);
        assert!(coloured.contains("\x1b[32mINFO \x1b[0m"), "{coloured:?}");
        let mut plain = coloured.clone();
        for code in ["\x1b[2m", "\x1b[0m", "\x1b[32m"] {
            plain = plain.replace(code, "");
        }
        assert_eq!(plain, formatted(text_line, at, Level::Info));
        assert!(formatted(coloured_text_line, at, Level::Error).contains("\x1b[1;31mERROR"));
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
        let pending = Pending::new(Box::new(sink.clone()), text_line, FLUSH_DELAY);
        pending.add(b"request 1\n", false).unwrap();
        assert_eq!(sink.text(), "request 1\n");
    }
}
