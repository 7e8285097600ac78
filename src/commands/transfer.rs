//! The `export` and `import` sub-commands: open the backend, connect files
//! or stdin/stdout, show progress on a terminal, print one summary line.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{DatabaseUrl, ExportArgs, ImportArgs};
use crate::storage::postgres::{PgLoader, PgOptions, PgStore};
use crate::storage::sqlite::{self, SqliteLoader, SqliteSnapshot};
use crate::storage::BulkLoad;
use crate::storage::{StorageMetrics, DEFAULT_KEY_TTL};
use crate::transfer::{
    check, export, import, open, BadRow, Format, ImportFailure, ImportOptions, ImportReport,
    OnError,
};

/// Skipped rows reported one by one; past this, only counted.
const REPORTED_ROWS: u64 = 100;

/// `export`: returns the summary line, or one error line.
pub async fn run_export(args: ExportArgs) -> Result<String, String> {
    let output = args.output.filter(|p| p != Path::new("-"));
    let format = Format::choose(args.format, output.as_deref());
    let out: Box<dyn Write> = match &output {
        Some(path) => Box::new(
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let progress = spinner("exported");
    let started = Instant::now();
    let tick = |n: u64| progress.set_position(n);
    let (source, result) = match &args.from {
        DatabaseUrl::Sqlite(path) => {
            if !path.is_file() {
                return Err(format!("no SQLite database at {}", path.display()));
            }
            let snapshot = SqliteSnapshot::begin(path).map_err(|e| e.to_string())?;
            let result = export(snapshot, out, format, tick).await;
            (path.display().to_string(), result)
        }
        DatabaseUrl::Postgres(url) => {
            let store = PgStore::connect(&PgOptions {
                url: url.clone(),
                pool_size: 1,
                metrics: StorageMetrics::new(),
                key_ttl: DEFAULT_KEY_TTL,
            })
            .await
            .map_err(|e| e.to_string())?;
            let result = match store.snapshot().await {
                Ok(snapshot) => export(snapshot, out, format, tick).await,
                Err(e) => Err(e.into()),
            };
            store.close();
            (url.redacted(), result)
        }
    };
    progress.finish_and_clear();
    let summary = result.map_err(|e| e.to_string())?;
    let target = output.map_or_else(|| "stdout".to_owned(), |p| p.display().to_string());
    Ok(format!(
        "exported {} users from {source} as of {} to {target} as {format:?} in {}",
        summary.written,
        summary.as_of,
        rate(summary.written, started.elapsed())
    ))
}

/// `import`: returns the summary line, or one error line.
pub async fn run_import(args: ImportArgs) -> Result<String, String> {
    let path = args.input.filter(|p| p != Path::new("-"));
    let live_check = args.on_error == OnError::Abort && !args.update_existing;
    let mut source = match path {
        Some(path) => Source::File(path),
        None => Source::Stdin,
    };
    // A live import checks its input before writing, so reads it twice:
    // stdin is kept in memory for that.
    if let (Source::Stdin, DatabaseUrl::Sqlite(db)) = (&source, &args.to) {
        if live_check && sqlite::is_served(db) {
            source = Source::memory_from_stdin()?;
        }
    }
    let (mut reader, progress) = source.open()?;
    let format = Format::detect(args.format, source.path(), &mut reader)
        .map_err(|e| format!("cannot read the input: {e}; nothing was imported"))?;
    let opened = open(reader, format).map_err(|e| ImportFailure::from(e).to_string())?;
    let options = ImportOptions {
        on_error: args.on_error,
        batch_size: args.batch_size as usize,
        update_existing: args.update_existing,
    };
    let started = Instant::now();
    let mut report = Report {
        progress,
        reported: 0,
    };
    let (target, result) = match &args.to {
        DatabaseUrl::Sqlite(path) => {
            let mut loader =
                SqliteLoader::begin(path, args.update_existing).map_err(|e| e.to_string())?;
            let opened = match loader.commits_each_batch() && live_check {
                false => opened,
                true => {
                    if matches!(source, Source::Stdin) {
                        // A server started between the look above and the
                        // claim: stdin was not kept and cannot be read again.
                        return Err(format!(
                            "a server started serving {} as the import began; run the import \
                             again; nothing was imported",
                            path.display()
                        ));
                    }
                    check(&mut loader, opened)
                        .await
                        .map_err(|e| ImportFailure::from(e).to_string())?;
                    let (reader, progress) = source.open()?;
                    report.progress = progress;
                    open(reader, format).map_err(|e| ImportFailure::from(e).to_string())?
                }
            };
            let result = import(loader, opened, options, &mut report).await;
            (path.display().to_string(), result)
        }
        DatabaseUrl::Postgres(url) => {
            let loader = PgLoader::begin(url).await.map_err(|e| e.to_string())?;
            let result = import(loader, opened, options, &mut report).await;
            (url.redacted(), result)
        }
    };
    report.progress.finish_and_clear();
    let summary = result.map_err(|e| e.to_string())?;
    let skipped = match summary.skipped {
        0 => String::new(),
        n => format!(", skipped {n} bad rows"),
    };
    let elapsed = started.elapsed();
    if !options.update_existing {
        return Ok(format!(
            "imported {} users into {target}{skipped} in {}",
            summary.created,
            rate(summary.created, elapsed)
        ));
    }
    let rows = summary.created + summary.updated + summary.unchanged;
    Ok(format!(
        "imported {rows} users into {target}: created {}, updated {}, unchanged {}{skipped} in {}",
        summary.created,
        summary.updated,
        summary.unchanged,
        rate(rows, elapsed)
    ))
}

/// What an import tells the person running it, on stderr: columns it
/// ignores, skipped rows (the first [`REPORTED_ROWS`]), progress.
struct Report {
    progress: ProgressBar,
    reported: u64,
}

impl ImportReport for Report {
    fn ignored_columns(&mut self, columns: &[String]) {
        let names = columns.join(", ");
        self.progress
            .suspend(|| eprintln!("warning: ignoring columns that are no user field: {names}"));
    }

    fn skipped(&mut self, bad: &BadRow) {
        self.reported += 1;
        if self.reported <= REPORTED_ROWS {
            self.progress
                .suspend(|| eprintln!("line {}: {} (skipped)", bad.line, bad.reason));
        } else if self.reported == REPORTED_ROWS + 1 {
            self.progress
                .suspend(|| eprintln!("… further skipped rows are only counted"));
        }
    }

    fn progress(&mut self, _read: u64) {
        self.progress.tick();
    }
}

/// Where an import reads from.
enum Source {
    File(PathBuf),
    Stdin,
    /// stdin read whole, for an import that reads its input twice.
    Memory(Vec<u8>),
}

impl Source {
    fn memory_from_stdin() -> Result<Self, String> {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read the input: {e}; nothing was imported"))?;
        Ok(Self::Memory(bytes))
    }

    fn path(&self) -> Option<&Path> {
        match self {
            Self::File(path) => Some(path),
            Self::Stdin | Self::Memory(_) => None,
        }
    }

    /// The input from its start, and a progress bar over its bytes (a
    /// spinner for stdin); both hidden unless stderr is a terminal.
    fn open(&self) -> Result<(Box<dyn BufRead + '_>, ProgressBar), String> {
        match self {
            Self::File(path) => {
                let file =
                    File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                let length = file.metadata().map(|m| m.len()).unwrap_or(0);
                let bar = if std::io::stderr().is_terminal() {
                    ProgressBar::new(length).with_style(
                        ProgressStyle::with_template(
                            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    )
                } else {
                    ProgressBar::hidden()
                };
                let reader = bar.wrap_read(file);
                Ok((Box::new(BufReader::with_capacity(1 << 16, reader)), bar))
            }
            Self::Stdin => Ok((
                Box::new(BufReader::with_capacity(1 << 16, std::io::stdin())),
                spinner("read"),
            )),
            Self::Memory(bytes) => Ok((Box::new(bytes.as_slice()), spinner("read"))),
        }
    }
}

fn spinner(verb: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template(&format!("{{spinner}} {verb} {{pos}} users {{per_sec}}"))
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// `3.2 s (312,500 users/s)`.
fn rate(users: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let per_second = if seconds > 0.0 {
        (users as f64 / seconds).round() as u64
    } else {
        users
    };
    format!("{seconds:.1} s ({per_second} users/s)")
}
