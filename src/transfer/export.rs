//! `export`: every user, newest first, as NDJSON or CSV.

use std::io::Write;

use super::format::Format;
use crate::domain::{User, UserRecord, USER_FIELDS};
use crate::storage::{ListQuery, StoreError, UserStore};

/// Users read per query; a keyset page, so a long export holds no lock.
const PAGE: u32 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read users: {0}")]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
}

/// Writes every user to `out` and returns how many. Pages are read one
/// after another, as a client walking `Link` headers would: a user that
/// exists throughout is written exactly once even while others are added or
/// deleted, so the server can keep serving.
pub async fn export<S: UserStore>(
    store: &S,
    out: impl Write,
    format: Format,
    mut progress: impl FnMut(u64),
) -> Result<u64, ExportError> {
    let mut writer = Writer::new(out, format)?;
    let mut query = ListQuery {
        limit: PAGE,
        email: None,
        after: None,
    };
    let mut written = 0;
    loop {
        let page = store.list(query.clone()).await?;
        for user in &page.users {
            writer.write(user)?;
        }
        written += page.users.len() as u64;
        progress(written);
        match page.next {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    writer.finish()?;
    Ok(written)
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
