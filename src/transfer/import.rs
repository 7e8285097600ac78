//! `import`: users from NDJSON or CSV into any backend, in batches inside one
//! transaction, so an aborted import leaves the database as it was.

use std::io::BufRead;

use clap::ValueEnum;

use super::format::Format;
use super::record::{BadRow, Item, Records};
use crate::domain::User;
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
    pub format: Format,
    pub on_error: OnError,
    /// Users sent to the database per statement batch.
    pub batch_size: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub imported: u64,
    pub skipped: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {}: {}; nothing was imported", .0.line, .0.reason)]
    BadRow(BadRow),
    #[error("cannot read the input: {0}; nothing was imported")]
    Read(#[from] std::io::Error),
    #[error("cannot write users: {0}; nothing was imported")]
    Store(#[from] StoreError),
}

/// Reads every row of `input`, validates it, and loads the valid ones with
/// `loader`, committing once at the end. `report` hears of each skipped
/// row, `progress` of the count of rows read so far.
pub async fn import<L: BulkLoad>(
    mut loader: L,
    input: impl BufRead,
    options: ImportOptions,
    mut report: impl FnMut(&BadRow),
    mut progress: impl FnMut(u64),
) -> Result<ImportSummary, ImportError> {
    let batch_size = options.batch_size.max(1);
    let mut summary = ImportSummary {
        imported: 0,
        skipped: 0,
    };
    let mut reject = |bad: BadRow, summary: &mut ImportSummary| match options.on_error {
        OnError::Abort => Err(ImportError::BadRow(bad)),
        OnError::Skip => {
            report(&bad);
            summary.skipped += 1;
            Ok(())
        }
    };
    let mut lines = Vec::with_capacity(batch_size);
    let mut users: Vec<User> = Vec::with_capacity(batch_size);
    let mut read = 0u64;
    let mut records = Records::new(input, options.format).peekable();
    while let Some(item) = records.next() {
        read += 1;
        match item? {
            Item::User { line, user } => {
                lines.push(line);
                users.push(user);
            }
            Item::Bad(bad) => reject(bad, &mut summary)?,
        }
        if users.len() == batch_size || (records.peek().is_none() && !users.is_empty()) {
            let inserted = loader.insert(&users).await?;
            for (line, inserted) in lines.drain(..).zip(inserted) {
                if inserted {
                    summary.imported += 1;
                } else {
                    let reason = "its id or email already exists".to_owned();
                    reject(BadRow { line, reason }, &mut summary)?;
                }
            }
            users.clear();
            progress(read);
        }
    }
    loader.commit().await?;
    progress(read);
    Ok(summary)
}
