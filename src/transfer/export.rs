//! `export`: every user as of one moment, newest first, as NDJSON or CSV.

use std::io::Write;

use super::format::Format;
use crate::domain::{Timestamp, User, UserRecord, USER_FIELDS};
use crate::storage::{Snapshot, StoreError};

/// Users read per query, inside the snapshot's one transaction.
const PAGE: u32 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read users: {0}")]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
}

/// What an export wrote, and of which moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    pub written: u64,
    /// The moment whose users were written.
    pub as_of: Timestamp,
}

/// Writes every user of `snapshot` to `out`, newest first. The snapshot
/// is one moment's state: a user added or deleted while the export runs
/// is in it or not according to whether that happened before the moment,
/// and the server keeps serving throughout.
pub async fn export(
    mut snapshot: impl Snapshot,
    out: impl Write,
    format: Format,
    mut progress: impl FnMut(u64),
) -> Result<ExportSummary, ExportError> {
    let mut writer = Writer::new(out, format)?;
    let mut written = 0;
    loop {
        let users = snapshot.next_page(PAGE).await?;
        if users.is_empty() {
            break;
        }
        for user in &users {
            writer.write(user)?;
        }
        written += users.len() as u64;
        progress(written);
    }
    writer.finish()?;
    let as_of = snapshot.taken_at();
    snapshot.finish().await?;
    Ok(ExportSummary { written, as_of })
}

enum Writer<W: Write> {
    Ndjson(std::io::BufWriter<W>),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> Writer<W> {
    fn new(out: W, format: Format) -> std::io::Result<Self> {
        Ok(match format {
            Format::Ndjson => Self::Ndjson(std::io::BufWriter::with_capacity(1 << 16, out)),
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(USER_FIELDS)
                    .map_err(std::io::Error::other)?;
                Self::Csv(Box::new(csv))
            }
        })
    }

    fn write(&mut self, user: &User) -> std::io::Result<()> {
        match self {
            Self::Ndjson(out) => {
                serde_json::to_writer(&mut *out, &UserRecord(user))?;
                out.write_all(b"\n")
            }
            Self::Csv(csv) => csv
                .write_record([
                    user.id.to_string().as_str(),
                    user.email.as_str(),
                    user.name.as_str(),
                    user.created_at.to_string().as_str(),
                    user.updated_at.to_string().as_str(),
                ])
                .map_err(std::io::Error::other),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Self::Ndjson(mut out) => out.flush(),
            Self::Csv(mut csv) => csv.flush(),
        }
    }
}
