//! `Cursor`: an opaque, tamper-evident position in one listing.
//!
//! A cursor is the sort key and id of the last user on a page, plus the
//! listing's scope ([`ListQuery::scope`]): which filters, search and order
//! it belongs to, so a cursor used with another listing is refused. It
//! carries no server state, so any instance can continue a walk another
//! began. A checksum rejects corrupt or hand-edited cursors; it is not a
//! secret, because a cursor grants nothing beyond a position in a listing
//! the client may read anyway.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::listing::{ListQuery, Position};
use crate::domain::{Fnv, Timestamp, UserId};

/// Version 1 (29 bytes, 39 characters) was a newest-first position with no
/// scope; such cursors, issued before sorting and search existed, still
/// page the default listing.
const VERSION_1: u8 = 1;
const VERSION_1_LEN: usize = 1 + 8 + 16 + 4;
const VERSION: u8 = 2;
/// Version, key, scope ... checksum.
const HEAD: usize = 1 + 1 + 8;
const SUM: usize = 4;
/// The longest text a cursor can be: a name sort with a 200-character name
/// of 4-byte code points.
const MAX_TEXT: usize = (HEAD + 16 + 800 + SUM).div_ceil(3) * 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The [`ListQuery::scope`] of the listing that issued it.
    pub scope: u64,
    pub position: Position,
}

/// The text is not a cursor this service issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor")]
pub struct InvalidCursor;

impl Cursor {
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(HEAD + 24 + SUM);
        bytes.push(VERSION);
        match &self.position {
            Position::Created { created_at, id } => {
                bytes.push(0);
                bytes.extend_from_slice(&self.scope.to_be_bytes());
                bytes.extend_from_slice(&created_at.unix_micros().to_be_bytes());
                bytes.extend_from_slice(id.as_bytes());
            }
            Position::Name { name, id } => {
                bytes.push(1);
                bytes.extend_from_slice(&self.scope.to_be_bytes());
                bytes.extend_from_slice(id.as_bytes());
                bytes.extend_from_slice(name.as_bytes());
            }
            Position::Email { email } => {
                bytes.push(2);
                bytes.extend_from_slice(&self.scope.to_be_bytes());
                bytes.extend_from_slice(email.as_bytes());
            }
        }
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Result<Self, InvalidCursor> {
        // Checked before decoding, so a huge parameter costs nothing.
        if text.len() > MAX_TEXT {
            return Err(InvalidCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        if bytes.len() < 1 + SUM {
            return Err(InvalidCursor);
        }
        let (body, sum) = bytes.split_at(bytes.len() - SUM);
        if u32::from_be_bytes(sum.try_into().map_err(|_| InvalidCursor)?) != checksum(body) {
            return Err(InvalidCursor);
        }
        match body[0] {
            VERSION_1 if bytes.len() == VERSION_1_LEN => Ok(Self {
                scope: ListQuery::first(1).scope(),
                position: created(&body[1..])?,
            }),
            VERSION if body.len() >= HEAD => {
                let scope =
                    u64::from_be_bytes(body[2..HEAD].try_into().map_err(|_| InvalidCursor)?);
                let rest = &body[HEAD..];
                let position = match body[1] {
                    0 => created(rest)?,
                    1 if rest.len() > 16 => Position::Name {
                        id: id(&rest[..16])?,
                        name: text_of(&rest[16..])?,
                    },
                    2 if !rest.is_empty() => Position::Email {
                        email: text_of(rest)?,
                    },
                    _ => return Err(InvalidCursor),
                };
                Ok(Self { scope, position })
            }
            _ => Err(InvalidCursor),
        }
    }
}

fn created(bytes: &[u8]) -> Result<Position, InvalidCursor> {
    if bytes.len() != 24 {
        return Err(InvalidCursor);
    }
    let micros = i64::from_be_bytes(bytes[..8].try_into().map_err(|_| InvalidCursor)?);
    Ok(Position::Created {
        created_at: Timestamp::from_unix_micros(micros),
        id: id(&bytes[8..])?,
    })
}

fn id(bytes: &[u8]) -> Result<UserId, InvalidCursor> {
    Ok(UserId::from_bytes(
        bytes.try_into().map_err(|_| InvalidCursor)?,
    ))
}

fn text_of(bytes: &[u8]) -> Result<String, InvalidCursor> {
    String::from_utf8(bytes.to_vec()).map_err(|_| InvalidCursor)
}

/// The 64-bit hash folded to 32 bits; its offset is service-specific, so a
/// cursor from another program that uses plain FNV does not pass.
fn checksum(bytes: &[u8]) -> u32 {
    let mut hash = Fnv::new();
    hash.write(bytes);
    let hash = hash.finish();
    (hash >> 32) as u32 ^ hash as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> UserId {
        UserId::parse("0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10").unwrap()
    }

    fn samples() -> Vec<Cursor> {
        let created_at = Timestamp::from_unix_micros(1_795_519_800_123_456);
        [
            Position::Created {
                created_at,
                id: id(),
            },
            Position::Name {
                name: "Zoë O'Brien".into(),
                id: id(),
            },
            Position::Name {
                name: "\u{1F600}".repeat(200),
                id: id(),
            },
            Position::Email {
                email: "ada@example.com".into(),
            },
        ]
        .into_iter()
        .map(|position| Cursor {
            scope: 0x0123_4567_89ab_cdef,
            position,
        })
        .collect()
    }

    #[test]
    fn a_cursor_round_trips() {
        for cursor in samples() {
            let text = cursor.encode();
            assert!(text.len() <= MAX_TEXT);
            assert_eq!(Cursor::decode(&text), Ok(cursor));
        }
    }

    #[test]
    fn a_cursor_is_url_safe() {
        for cursor in samples() {
            assert!(cursor
                .encode()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
    }

    #[test]
    fn a_version_1_cursor_pages_the_default_listing() {
        // Issued by the service before sorting existed.
        let text = "AQAGYQQH36BAAZOlxH0efMKbHk9-CoucEDLUVH0";
        let cursor = Cursor::decode(text).unwrap();
        assert_eq!(cursor.scope, ListQuery::first(100).scope());
        assert_eq!(
            cursor.position,
            Position::Created {
                created_at: Timestamp::from_unix_micros(1_795_519_800_123_456),
                id: id(),
            }
        );
    }

    #[test]
    fn every_single_character_change_is_rejected() {
        for cursor in samples() {
            let text = cursor.encode();
            for i in 0..text.len() {
                let mut chars: Vec<char> = text.chars().collect();
                chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
                let forged: String = chars.into_iter().collect();
                assert_eq!(Cursor::decode(&forged), Err(InvalidCursor), "position {i}");
            }
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for text in ["", "abc", "!!!!", &"A".repeat(39), &"A".repeat(10_000)] {
            assert_eq!(Cursor::decode(text), Err(InvalidCursor), "{text:?}");
        }
    }
}
