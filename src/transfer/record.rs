//! One user as it appears in a file, read line by line and validated into a
//! domain `User` with the rules the API applies.

use std::io::{BufRead, Read};

use super::format::Format;
use crate::domain::{RawUser, UserRow, USER_FIELDS};

/// A row that could not be imported, by its line number in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

/// Why a CSV input cannot be read at all: its header line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the CSV header has no {missing} column (it has: {found}); a CSV needs `email` and `name` columns, NDJSON a JSON object per line")]
    Missing {
        missing: &'static str,
        found: String,
    },
    #[error("the CSV header names the column {0:?} twice")]
    Repeated(String),
    #[error("cannot read the CSV header: {0}")]
    Unreadable(String),
}

/// Reads users one at a time; each item is a valid row or the reason its
/// line is not one. Blank NDJSON lines are skipped.
pub enum Records<R: Read> {
    Ndjson {
        input: R,
        line: u64,
        buffer: String,
    },
    Csv {
        reader: Box<csv::Reader<R>>,
        headers: csv::StringRecord,
        row: csv::StringRecord,
    },
}

/// An opened input: its rows, and the CSV columns that are not a user's
/// field (ignored; the caller warns of them once).
pub struct Opened<R: Read> {
    pub records: Records<R>,
    pub ignored_columns: Vec<String>,
}

impl<R: BufRead> Records<R> {
    /// Starts reading; a CSV's header is read and checked now, so a file
    /// that cannot be imported fails before anything is written.
    pub fn open(input: R, format: Format) -> Result<Opened<R>, HeaderError> {
        match format {
            Format::Ndjson => Ok(Opened {
                records: Self::Ndjson {
                    input,
                    line: 0,
                    buffer: String::new(),
                },
                ignored_columns: Vec::new(),
            }),
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(true)
                    .from_reader(input);
                let (headers, ignored_columns) = user_columns(
                    reader
                        .headers()
                        .map_err(|e| HeaderError::Unreadable(e.to_string()))?,
                )?;
                Ok(Opened {
                    records: Self::Csv {
                        reader: Box::new(reader),
                        headers,
                        row: csv::StringRecord::new(),
                    },
                    ignored_columns,
                })
            }
        }
    }
}

/// The header with each name trimmed and lower-cased (a byte-order mark
/// dropped), so `Email`, ` EMAIL ` and `email` are one column; and the
/// names that are no user field. `email` and `name` must be there.
fn user_columns(
    header: &csv::StringRecord,
) -> Result<(csv::StringRecord, Vec<String>), HeaderError> {
    let names: Vec<String> = header
        .iter()
        .map(|name| name.trim_start_matches('\u{feff}').trim().to_lowercase())
        .collect();
    for (at, name) in names.iter().enumerate() {
        if USER_FIELDS.contains(&name.as_str()) && names[..at].contains(name) {
            return Err(HeaderError::Repeated(name.clone()));
        }
    }
    for missing in ["email", "name"] {
        if !names.iter().any(|name| name == missing) {
            let found = header.iter().collect::<Vec<_>>().join(", ");
            return Err(HeaderError::Missing { missing, found });
        }
    }
    let ignored = header
        .iter()
        .zip(&names)
        .filter(|(_, name)| !USER_FIELDS.contains(&name.as_str()))
        .map(|(original, _)| original.to_owned())
        .collect();
    Ok((names.iter().collect(), ignored))
}

/// What reading the input can give: a row, a bad row to report, or an
/// input that cannot be read at all.
pub enum Item {
    User { line: u64, row: UserRow },
    Bad(BadRow),
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = std::io::Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Ndjson {
                input,
                line,
                buffer,
            } => loop {
                buffer.clear();
                *line += 1;
                match input.read_line(buffer) {
                    Ok(0) => return None,
                    Ok(_) if buffer.trim().is_empty() => continue,
                    Ok(_) => {
                        let text = buffer.strip_prefix('\u{feff}').unwrap_or(buffer);
                        let item = serde_json::from_str::<RawUser>(text)
                            .map_err(|e| format!("not a user object: {e}"))
                            .and_then(RawUser::validate);
                        return Some(Ok(item_at(*line, item)));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        return Some(Ok(Item::Bad(BadRow {
                            line: *line,
                            reason: "the line is not valid UTF-8".into(),
                        })));
                    }
                    Err(e) => return Some(Err(e)),
                }
            },
            Self::Csv {
                reader,
                headers,
                row,
            } => match reader.read_record(row) {
                Ok(false) => None,
                Ok(true) => {
                    let line = row.position().map_or(0, csv::Position::line);
                    let item = if row.len() == headers.len() {
                        row.deserialize::<RawUser>(Some(headers))
                            .map_err(|e| format!("not a user row: {e}"))
                            .and_then(RawUser::validate)
                    } else {
                        Err(format!(
                            "the row has {} fields where the header has {}",
                            row.len(),
                            headers.len()
                        ))
                    };
                    Some(Ok(item_at(line, item)))
                }
                Err(e) => match e.kind() {
                    csv::ErrorKind::Io(_) => Some(Err(std::io::Error::other(e.to_string()))),
                    _ => Some(Ok(Item::Bad(BadRow {
                        line: e.position().map_or(0, csv::Position::line),
                        reason: format!("not a user row: {e}"),
                    }))),
                },
            },
        }
    }
}

fn item_at(line: u64, item: Result<UserRow, String>) -> Item {
    match item {
        Ok(row) => Item::User { line, row },
        Err(reason) => Item::Bad(BadRow { line, reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &str, format: Format) -> Records<&[u8]> {
        Records::open(text.as_bytes(), format).unwrap().records
    }

    fn read(text: &str, format: Format) -> Vec<Result<u64, BadRow>> {
        open(text, format)
            .map(|item| match item.unwrap() {
                Item::User { line, .. } => Ok(line),
                Item::Bad(bad) => Err(bad),
            })
            .collect()
    }

    const ADA: &str = r#"{"id":"0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10","email":"Ada@Example.com","name":"Ada","created_at":"2026-11-24T11:30:00.123456Z","updated_at":"2026-11-24T11:30:00.123456Z"}"#;

    #[test]
    fn ndjson_rows_are_validated_and_numbered_by_line() {
        let text = format!(
            "{ADA}\n\n{{\"id\":\"nope\"}}\n{}\n",
            ADA.replace("Ada@", "bad email@")
        );
        let rows = read(&text, Format::Ndjson);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], Ok(1));
        assert!(
            matches!(&rows[1], Err(BadRow { line: 3, reason }) if reason.contains("not a user"))
        );
        assert!(matches!(&rows[2], Err(BadRow { line: 4, reason }) if reason.starts_with("email")));
    }

    #[test]
    fn an_email_is_normalised_as_the_api_does() {
        let mut records = open(ADA, Format::Ndjson);
        let Some(Ok(Item::User { row, .. })) = records.next() else {
            panic!("a user");
        };
        assert_eq!(row.email.as_str(), "ada@example.com");
    }

    #[test]
    fn csv_rows_are_validated_and_numbered_by_line() {
        let text = "id,email,name,created_at,updated_at\n\
            0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10,ada@example.com,\"Ada, Countess\",2026-11-24T11:30:00Z,2026-11-24T11:30:00Z\n\
            0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c11,bob@example.com,Bob,2026-11-24T11:30:00Z,2020-01-01T00:00:00Z\n\
            0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c12,cy@example.com\n";
        let rows = read(text, Format::Csv);
        assert_eq!(rows[0], Ok(2));
        assert!(matches!(&rows[1], Err(BadRow { line: 3, reason }) if reason.contains("before")));
        assert!(matches!(&rows[2], Err(BadRow { line: 4, .. })));
    }

    #[test]
    fn invalid_utf8_is_a_bad_row_not_the_end() {
        let mut bytes = b"\xff\xfe\n".to_vec();
        bytes.extend_from_slice(ADA.as_bytes());
        let rows: Vec<_> = Records::open(bytes.as_slice(), Format::Ndjson)
            .unwrap()
            .records
            .map(|item| match item.unwrap() {
                Item::User { line, .. } => Ok(line),
                Item::Bad(bad) => Err(bad.line),
            })
            .collect();
        assert_eq!(rows, vec![Err(1), Ok(2)]);
    }

    #[test]
    fn csv_columns_in_any_order_and_case_with_others_ignored() {
        let text = "\u{feff}Name, EMAIL ,Department\nAda,Ada@Example.com,R&D\nBob,,Ops\n";
        let opened = Records::open(text.as_bytes(), Format::Csv).unwrap();
        assert_eq!(opened.ignored_columns, vec!["Department"]);
        let items: Vec<_> = opened.records.map(Result::unwrap).collect();
        let Item::User { line: 2, row } = &items[0] else {
            panic!("a user on line 2");
        };
        assert_eq!(
            (row.email.as_str(), row.name.as_str()),
            ("ada@example.com", "Ada")
        );
        assert_eq!(row.id, None);
        assert!(
            matches!(&items[1], Item::Bad(BadRow { line: 3, reason }) if reason.starts_with("email"))
        );
    }

    #[test]
    fn a_csv_without_an_email_or_name_column_is_refused_before_any_row() {
        let missing = |text: &str| Records::open(text.as_bytes(), Format::Csv).err();
        assert!(matches!(
            missing("mail,name\na@b.co,A\n"),
            Some(HeaderError::Missing {
                missing: "email",
                ..
            })
        ));
        assert!(matches!(
            missing("email\na@b.co\n"),
            Some(HeaderError::Missing {
                missing: "name",
                ..
            })
        ));
        assert_eq!(
            missing("email,Email,name\n"),
            Some(HeaderError::Repeated("email".into()))
        );
        let text = missing("PK\u{3}\u{4}binary").unwrap().to_string();
        assert!(text.contains("no email column"), "{text}");
    }

    #[test]
    fn a_csv_row_with_too_few_or_many_fields_is_a_bad_row() {
        let rows = read(
            "email,name\na@b.co\nc@d.co,C,extra\ne@f.co,E\n",
            Format::Csv,
        );
        assert!(matches!(&rows[0], Err(BadRow { line: 2, reason }) if reason.contains("1 fields")));
        assert!(matches!(&rows[1], Err(BadRow { line: 3, .. })));
        assert_eq!(rows[2], Ok(4));
    }
}
