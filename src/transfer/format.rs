//! The two file formats and how to tell which one a file is.

use std::io::BufRead;
use std::path::Path;

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line, shaped as the API returns a user.
    Ndjson,
    /// A header line naming the columns (`email` and `name` at least; `id`,
    /// `created_at`, `updated_at` when known; any order and letter case),
    /// then one user per row.
    Csv,
}

/// NDJSON files' usual extensions.
const NDJSON_EXTENSIONS: [&str; 3] = ["ndjson", "jsonl", "json"];

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

impl Format {
    /// The format of an input to import: the flag's, else the file's
    /// extension's (`.csv`; `.ndjson`, `.jsonl`, `.json`), else what the
    /// input starts with: `{` is NDJSON, anything else is read as CSV (whose
    /// header is then checked). Looks at the input without consuming it.
    pub fn detect(
        flag: Option<Format>,
        path: Option<&Path>,
        input: &mut impl BufRead,
    ) -> std::io::Result<Self> {
        if let Some(format) = flag {
            return Ok(format);
        }
        let extension = path.and_then(Path::extension).and_then(|e| e.to_str());
        if let Some(extension) = extension {
            if extension.eq_ignore_ascii_case("csv") {
                return Ok(Self::Csv);
            }
            if NDJSON_EXTENSIONS
                .iter()
                .any(|known| extension.eq_ignore_ascii_case(known))
            {
                return Ok(Self::Ndjson);
            }
        }
        let start = input.fill_buf()?;
        let start = start
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(start);
        Ok(match start.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | None => Self::Ndjson,
            Some(_) => Self::Csv,
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

    #[test]
    fn an_import_without_flag_or_known_extension_is_told_by_its_start() {
        let detect = |path: Option<&str>, text: &str| {
            Format::detect(None, path.map(Path::new), &mut text.as_bytes()).unwrap()
        };
        assert_eq!(detect(Some("a.JSONL"), "email,name"), Format::Ndjson);
        assert_eq!(
            detect(Some("export.txt"), "\u{feff}Email;Name"),
            Format::Csv
        );
        assert_eq!(detect(None, "\n  {\"email\":1}"), Format::Ndjson);
        assert_eq!(detect(None, "\u{feff}{}"), Format::Ndjson);
        assert_eq!(detect(None, ""), Format::Ndjson);
        let mut flagged = "{".as_bytes();
        assert_eq!(
            Format::detect(Some(Format::Csv), None, &mut flagged).unwrap(),
            Format::Csv
        );
    }
}
