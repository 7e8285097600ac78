//! `import`: users from NDJSON or CSV into any backend, in batches inside one
//! transaction, so an aborted import leaves the database as it was.
//!
//! Rows from other systems may lack `id`, `created_at` and `updated_at`;
//! they are made as `POST` makes them, with `created_at` increasing in the
//! file's order. With `update_existing`, a row whose id (when it has one)
//! or else email is stored updates that user instead of being a conflict.

use std::collections::HashSet;
use std::io::BufRead;

use clap::ValueEnum;

use super::format::Format;
use super::record::{BadRow, HeaderError, Item, Opened, Records};
use crate::domain::{Email, Timestamp, User, UserId, UserPatch, UserRow};
use crate::storage::{BulkLoad, StoreError};

/// What to do with a row that is invalid or whose id or email is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnError {
    /// Stop at the first bad row and import nothing.
    Abort,
    /// Report the row and go on; the good rows are imported.
    Skip,
}

#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    pub on_error: OnError,
    /// Users sent to the database per statement batch.
    pub batch_size: usize,
    /// A row matching a stored user updates it rather than conflicting.
    pub update_existing: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// New users.
    pub created: u64,
    /// Stored users whose name or email the file changed.
    pub updated: u64,
    /// Stored users the file matched without a change.
    pub unchanged: u64,
    pub skipped: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {}: {}", .0.line, .0.reason)]
    BadRow(BadRow),
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error("cannot read the input: {0}")]
    Read(#[from] std::io::Error),
    #[error("cannot write users: {0}")]
    Store(#[from] StoreError),
}

/// An import that stopped, and what of it stays: nothing, unless the
/// loader commits each batch (a live import), whose committed batches
/// stay.
#[derive(Debug, thiserror::Error)]
pub struct ImportFailure {
    pub error: ImportError,
    /// Users committed before it stopped.
    pub kept: u64,
}

impl std::fmt::Display for ImportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kept {
            0 => write!(f, "{}; nothing was imported", self.error),
            kept => write!(
                f,
                "{}; the {kept} users written before it stay (a live import commits as it \
                 goes): run the same import again with --on-error skip to add the rest",
                self.error
            ),
        }
    }
}

impl From<ImportError> for ImportFailure {
    fn from(error: ImportError) -> Self {
        Self { error, kept: 0 }
    }
}

/// What the caller hears of while the import runs.
pub trait ImportReport {
    /// CSV columns that are no user field, once, before the first row.
    fn ignored_columns(&mut self, columns: &[String]);
    /// A row skipped (`OnError::Skip`).
    fn skipped(&mut self, row: &BadRow);
    /// Rows read so far.
    fn progress(&mut self, read: u64);
}

/// Starts reading `input` as `format`: a CSV's header is checked now, so a
/// file that cannot be imported fails before a database is opened.
pub fn open<R: BufRead>(input: R, format: Format) -> Result<Opened<R>, ImportError> {
    Ok(Records::open(input, format)?)
}

/// Reads every row of `opened` and checks, without writing, that an
/// import would take each one: valid, and neither its id nor its email
/// already stored or earlier in the input. For a live import with
/// `OnError::Abort`, which must write nothing unless it can write all.
/// Keeps every id and email of the input in memory meanwhile.
pub async fn check<L: BulkLoad, R: BufRead>(
    loader: &mut L,
    opened: Opened<R>,
) -> Result<u64, ImportError> {
    let mut ids = HashSet::new();
    let mut emails = HashSet::new();
    let mut rows = 0;
    for item in opened.records {
        let (line, row) = match item? {
            Item::User { line, row } => (line, row),
            Item::Bad(bad) => return Err(ImportError::BadRow(bad)),
        };
        let repeated = row.id.is_some_and(|id| !ids.insert(id)) | !emails.insert(row.email.clone());
        let stored = repeated
            || match row.id {
                Some(id) => loader.find_by_id(id).await?.is_some(),
                None => false,
            }
            || loader.find_by_email(&row.email).await?.is_some();
        if stored {
            let reason = TAKEN.to_owned();
            return Err(ImportError::BadRow(BadRow { line, reason }));
        }
        rows += 1;
    }
    Ok(rows)
}

/// Why a new user's row cannot be inserted.
const TAKEN: &str = "its id or email already exists";

/// Reads every row of `opened`, validates it, and loads the valid ones with
/// `loader`, committing once at the end (or, for a live import, batch by
/// batch).
pub async fn import<L: BulkLoad, R: BufRead>(
    loader: L,
    opened: Opened<R>,
    options: ImportOptions,
    report: &mut impl ImportReport,
) -> Result<ImportSummary, ImportFailure> {
    let live = loader.commits_each_batch();
    let mut run = Run {
        loader,
        options,
        report,
        summary: ImportSummary::default(),
        pending: Pending::new(options.batch_size.max(1), options.update_existing),
        clock: Clock::default(),
    };
    let result = run.all(opened).await;
    let Run {
        loader, summary, ..
    } = run;
    let kept = match live {
        true => summary.created + summary.updated,
        false => 0,
    };
    let fail = |error| ImportFailure { error, kept };
    result.map_err(fail)?;
    loader
        .commit()
        .await
        .map_err(|e| fail(ImportError::Store(e)))?;
    Ok(summary)
}

impl<L: BulkLoad, R: ImportReport> Run<'_, L, R> {
    async fn all(&mut self, opened: Opened<impl BufRead>) -> Result<(), ImportError> {
        if !opened.ignored_columns.is_empty() {
            self.report.ignored_columns(&opened.ignored_columns);
        }
        let mut read = 0u64;
        for item in opened.records {
            read += 1;
            match item? {
                Item::User { line, row } => self.row(line, row).await?,
                Item::Bad(bad) => self.reject(bad)?,
            }
            if self.pending.is_full() {
                self.flush().await?;
                self.report.progress(read);
            }
        }
        self.flush().await?;
        self.report.progress(read);
        Ok(())
    }
}

/// One import in progress.
struct Run<'r, L, R> {
    loader: L,
    options: ImportOptions,
    report: &'r mut R,
    summary: ImportSummary,
    /// New users waiting to be inserted as one batch.
    pending: Pending,
    clock: Clock,
}

impl<L: BulkLoad, R: ImportReport> Run<'_, L, R> {
    async fn row(&mut self, line: u64, row: UserRow) -> Result<(), ImportError> {
        let now = self.clock.next();
        if !self.options.update_existing {
            self.pending.push(line, row.into_user(now));
            return Ok(());
        }
        // A user still waiting in the batch must be stored before it can
        // be found and updated.
        if self.pending.holds(row.id, &row.email) {
            self.flush().await?;
        }
        let stored = match row.id {
            Some(id) => self.loader.find_by_id(id).await?,
            None => self.loader.find_by_email(&row.email).await?,
        };
        let Some(mut user) = stored else {
            self.pending.push(line, row.into_user(now));
            return Ok(());
        };
        // Matched by id, the file's email is the user's new one; matched by
        // email, only the name can differ.
        let patch = UserPatch {
            email: row.id.is_some().then_some(row.email),
            name: Some(row.name),
        };
        if !user.apply(patch, now) {
            self.summary.unchanged += 1;
        } else if self.loader.update(&user).await? {
            self.summary.updated += 1;
        } else {
            let reason = "its email belongs to another user".to_owned();
            self.reject(BadRow { line, reason })?;
        }
        Ok(())
    }

    /// Inserts the waiting batch; a user whose id or email is taken is a
    /// bad row.
    async fn flush(&mut self) -> Result<(), ImportError> {
        if self.pending.users.is_empty() {
            return Ok(());
        }
        let inserted = self.loader.insert(&self.pending.users).await?;
        let lines = std::mem::take(&mut self.pending.lines);
        self.pending.clear();
        // Every inserted row is counted before a bad one stops the import:
        // a live import has committed the whole batch.
        self.summary.created += inserted.iter().filter(|&&ok| ok).count() as u64;
        for (line, inserted) in lines.into_iter().zip(inserted) {
            if !inserted {
                let reason = TAKEN.to_owned();
                self.reject(BadRow { line, reason })?;
            }
        }
        Ok(())
    }

    fn reject(&mut self, bad: BadRow) -> Result<(), ImportError> {
        match self.options.on_error {
            OnError::Abort => Err(ImportError::BadRow(bad)),
            OnError::Skip => {
                self.report.skipped(&bad);
                self.summary.skipped += 1;
                Ok(())
            }
        }
    }
}

/// New users waiting for one insert, with their lines; in update mode
/// also their ids and emails, to know when a row needs them stored first.
struct Pending {
    capacity: usize,
    lines: Vec<u64>,
    users: Vec<User>,
    keys: Option<(HashSet<UserId>, HashSet<Email>)>,
}

impl Pending {
    fn new(capacity: usize, track_keys: bool) -> Self {
        Self {
            capacity,
            lines: Vec::with_capacity(capacity),
            users: Vec::with_capacity(capacity),
            keys: track_keys.then(Default::default),
        }
    }

    fn push(&mut self, line: u64, user: User) {
        if let Some((ids, emails)) = &mut self.keys {
            ids.insert(user.id);
            emails.insert(user.email.clone());
        }
        self.lines.push(line);
        self.users.push(user);
    }

    fn is_full(&self) -> bool {
        self.users.len() >= self.capacity
    }

    /// Whether a waiting user has this id or email.
    fn holds(&self, id: Option<UserId>, email: &Email) -> bool {
        self.keys.as_ref().is_some_and(|(ids, emails)| {
            id.is_some_and(|id| ids.contains(&id)) || emails.contains(email)
        })
    }

    fn clear(&mut self) {
        self.lines.clear();
        self.users.clear();
        if let Some((ids, emails)) = &mut self.keys {
            ids.clear();
            emails.clear();
        }
    }
}

/// The time given to a row without `created_at`: now, but always later
/// than the last one given, so the file's order is the users' order.
#[derive(Default)]
struct Clock {
    last: Option<Timestamp>,
}

impl Clock {
    fn next(&mut self) -> Timestamp {
        let now = Timestamp::now();
        let next = match self.last {
            Some(last) if now <= last => Timestamp::from_unix_micros(last.unix_micros() + 1),
            _ => now,
        };
        self.last = Some(next);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_never_repeats_or_goes_back() {
        let mut clock = Clock::default();
        let times: Vec<_> = (0..1000).map(|_| clock.next()).collect();
        assert!(times.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
