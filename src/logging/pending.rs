//! The lines waiting to be written, and the thread that writes them in
//! batches (see the module header of [`super`] for why).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use log::{Level, Record};

use super::line::LineFormat;

/// How long a batch of lines waits for more before it is written.
pub const FLUSH_DELAY: Duration = Duration::from_millis(20);
/// With this many bytes waiting, the batch is written without waiting
/// (~20 ms of request lines at 60k req/s).
const WRITE_NOW_BYTES: usize = 256 * 1024;
/// The dropped-lines notice's target: the logger's, as `RUST_LOG` filters
/// it.
const NOTICE_TARGET: &str = "user_service::logging";
/// Lines that would take more than this waiting are dropped (and counted):
/// stderr is not being read. Bounds the memory a stuck reader can take.
pub(super) const MAX_PENDING: usize = 4 * 1024 * 1024;

/// Lines waiting to be written, and where they go. Off a terminal only the
/// flusher thread writes: a thread that logs never waits for stderr.
pub(super) struct Pending {
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
    pub(super) fn new(
        out: Box<dyn Write + Send>,
        format: LineFormat,
        delay: Duration,
    ) -> Arc<Self> {
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
    pub(super) fn start(out: Box<dyn Write + Send>, format: LineFormat) -> Arc<Self> {
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
    pub(super) fn add(&self, line: &[u8], urgent: bool) -> io::Result<()> {
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
                    .target(NOTICE_TARGET)
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
    pub(super) fn drain(&self, limit: Duration) {
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
    use super::super::line::text_line;
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

    #[test]
    fn without_a_flusher_thread_every_line_is_written_at_once() {
        let sink = Sink::default();
        let pending = Pending::new(Box::new(sink.clone()), text_line, FLUSH_DELAY);
        pending.add(b"request 1\n", false).unwrap();
        assert_eq!(sink.text(), "request 1\n");
    }
}
