//! One user as it appears in a file, read line by line and validated into a
//! domain `User` with the rules the API applies.

use std::io::{BufRead, Read};

use super::format::Format;
use crate::domain::{RawUser, User};

/// A row that could not be imported, by its line number in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

/// Reads users one at a time; each item is a valid user or the reason its
/// line is not one. Blank NDJSON lines are skipped.
pub enum Records<R: Read> {
    Ndjson {
        input: R,
        line: u64,
        buffer: String,
    },
    Csv {
        reader: Box<csv::Reader<R>>,
        headers: Option<csv::StringRecord>,
        row: csv::StringRecord,
    },
}

impl<R: BufRead> Records<R> {
    pub fn new(input: R, format: Format) -> Self {
        match format {
            Format::Ndjson => Self::Ndjson {
                input,
                line: 0,
                buffer: String::new(),
            },
            Format::Csv => Self::Csv {
                reader: Box::new(
                    csv::ReaderBuilder::new()
                        .has_headers(true)
                        .from_reader(input),
                ),
                headers: None,
                row: csv::StringRecord::new(),
            },
        }
    }
}

/// What reading the input can give: a user, a bad row to report, or an
/// input that cannot be read at all.
pub enum Item {
    User { line: u64, user: User },
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
                        let item = serde_json::from_str::<RawUser>(buffer)
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
            } => {
                if headers.is_none() {
                    match reader.headers() {
                        Ok(names) => *headers = Some(names.clone()),
                        Err(e) => return Some(Err(std::io::Error::other(e.to_string()))),
                    }
                }
                match reader.read_record(row) {
                    Ok(false) => None,
                    Ok(true) => {
                        let line = row.position().map_or(0, csv::Position::line);
                        let item = row
                            .deserialize::<RawUser>(headers.as_ref())
                            .map_err(|e| format!("not a user row: {e}"))
                            .and_then(RawUser::validate);
                        Some(Ok(item_at(line, item)))
                    }
                    Err(e) => match e.kind() {
                        csv::ErrorKind::Io(_) => Some(Err(std::io::Error::other(e.to_string()))),
                        _ => Some(Ok(Item::Bad(BadRow {
                            line: e.position().map_or(0, csv::Position::line),
                            reason: format!("not a user row: {e}"),
                        }))),
                    },
                }
            }
        }
    }
}

fn item_at(line: u64, item: Result<User, String>) -> Item {
    match item {
        Ok(user) => Item::User { line, user },
        Err(reason) => Item::Bad(BadRow { line, reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, format: Format) -> Vec<Result<u64, BadRow>> {
        Records::new(text.as_bytes(), format)
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
        let mut records = Records::new(ADA.as_bytes(), Format::Ndjson);
        let Some(Ok(Item::User { user, .. })) = records.next() else {
            panic!("a user");
        };
        assert_eq!(user.email.as_str(), "ada@example.com");
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
        let rows: Vec<_> = Records::new(bytes.as_slice(), Format::Ndjson)
            .map(|item| match item.unwrap() {
                Item::User { line, .. } => Ok(line),
                Item::Bad(bad) => Err(bad.line),
            })
            .collect();
        assert_eq!(rows, vec![Err(1), Ok(2)]);
    }
}
