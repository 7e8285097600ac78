//! Log output on stderr. Lines at `info` and below — the request log among
//! them — are collected and written together [`FLUSH_DELAY`] after the
//! first of them; a warning or an error is written at once, after whatever
//! is waiting, so the order of lines holds. One thread does the writing, so
//! a request never waits for stderr: if nobody reads it (a full pipe, a
//! terminal paused or too slow to scroll), lines wait in memory up to
//! 4 MiB (`pending::MAX_PENDING`), and past that they are dropped and
//! counted in a warning written once the reader catches up. On a terminal
//! the level is in colour. `line.rs` formats a line, `pending.rs` batches
//! and writes them.
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
//! used to stop answering once the pipe filled; now it keeps serving. The
//! `tracing` stack (`tracing-subscriber` with `tracing-appender`'s
//! non-blocking writer) was measured against this logger and cost 16 % of
//! the GET rate, 41 % with a span per request (BENCHMARKS.md, "Request
//! logging").
//!
//! A crash (`kill -9`) can lose the last [`FLUSH_DELAY`] of `info` lines,
//! and a warning logged in the instant before it; a clean exit waits (at
//! most `EXIT_WAIT`, 2 s) for everything (`log::logger().flush()`).

mod line;
mod pending;

use std::cell::RefCell;
use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use log::{Level, Log, Metadata, Record};

use self::line::{coloured_text_line, json_line, text_line, LineFormat};
use self::pending::Pending;
pub use self::pending::FLUSH_DELAY;

/// How lines are written: plain text, or one JSON object per line for log
/// shippers (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

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

thread_local! {
    /// The line being formatted, reused: no allocation per line.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
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
