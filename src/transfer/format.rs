//! The two file formats and how to tell which one a file is.

use std::path::Path;

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line, shaped as the API returns a user.
    Ndjson,
    /// A header line `id,email,name,created_at,updated_at`, then one user per row.
    Csv,
}

impl Format {
    /// The format a flag asked for, else the file's extension (`.csv`),
    /// else NDJSON.
    pub fn choose(flag: Option<Format>, path: Option<&Path>) -> Self {
        flag.unwrap_or_else(|| {
            let csv = path
                .and_then(Path::extension)
                .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"));
            if csv {
                Self::Csv
            } else {
                Self::Ndjson
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_extension_then_ndjson() {
        let csv = Some(Path::new("users.CSV"));
        assert_eq!(Format::choose(None, csv), Format::Csv);
        assert_eq!(Format::choose(Some(Format::Ndjson), csv), Format::Ndjson);
        assert_eq!(
            Format::choose(None, Some(Path::new("u.ndjson"))),
            Format::Ndjson
        );
        assert_eq!(Format::choose(None, None), Format::Ndjson);
    }
}
